from django.db import migrations


def forwards(apps, schema_editor):
    from prompts.services.accounts import adopt_addresses_from_before_allauth

    adopt_addresses_from_before_allauth(apps.get_model("auth", "User"), apps.get_model("account", "EmailAddress"))


class Migration(migrations.Migration):
    dependencies = [
        ("prompts", "0016_s20_search_window"),
        ("account", "0009_emailaddress_unique_primary_email"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
