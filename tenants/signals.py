"""Infrastructure only: keep the host-routing cache in step with the registry."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import Domain, LibraryOrganisation
from .selectors import host_cache_forget


@receiver([post_save, post_delete], sender=Domain)
def domain_changed(sender, instance, **kwargs):
    host_cache_forget([instance.domain])


@receiver([post_save, post_delete], sender=LibraryOrganisation)
def organisation_changed(sender, instance, **kwargs):
    host_cache_forget(list(Domain.objects.filter(tenant_id=instance.pk).values_list("domain", flat=True)))
