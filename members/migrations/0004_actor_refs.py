# Who did it (core.actors.Actor.ref) on audit entries, ledger entries, blocks and former cards.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("members", "0003_audit_search_members"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="actor_ref",
            field=models.CharField(blank=True, default="", max_length=40),
        ),
        migrations.AddField(
            model_name="block",
            name="actor_ref",
            field=models.CharField(blank=True, default="", max_length=40),
        ),
        migrations.AddField(
            model_name="block",
            name="lifted_actor_ref",
            field=models.CharField(blank=True, default="", max_length=40),
        ),
        migrations.AddField(
            model_name="formercard",
            name="actor_ref",
            field=models.CharField(blank=True, default="", max_length=40),
        ),
        migrations.AddField(
            model_name="ledgerentry",
            name="actor_ref",
            field=models.CharField(blank=True, default="", max_length=40),
        ),
    ]
