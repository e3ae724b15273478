from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("labeling", "0004_text"),
    ]

    operations = [
        migrations.AddField(
            model_name="job",
            name="attempts",
            field=models.PositiveSmallIntegerField(
                default=0,
                help_text=(
                    "Deliveries of the current stage's task; a stage whose task keeps dying "
                    "(a worker killed by a file) fails the job instead of looping."
                ),
            ),
        ),
    ]
