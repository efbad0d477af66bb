"""Who did it: loans, transfers, holds and circulation events record the actor
(core.actors.Actor.ref: staff:12, member:812, machine:3@5, system:nightly) beside
the staff account they already keep."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("circulation", "0003_borrower_kinds"),
    ]

    operations = [
        migrations.AddField(
            model_name=model_name,
            name="actor_ref",
            field=models.CharField(blank=True, default="", max_length=40),
        )
        for model_name in ("loan", "transfer", "hold", "circulationevent")
    ]
