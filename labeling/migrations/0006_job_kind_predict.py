from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("labeling", "0005_job_attempts"),
    ]

    operations = [
        migrations.AlterField(
            model_name="job",
            name="kind",
            field=models.CharField(
                choices=[("retrain", "retrain"), ("scan", "scan"), ("predict", "predict")],
                max_length=16,
            ),
        ),
    ]
