from django.db import migrations


def seed_vocabulary(apps, schema_editor):
    from prompts.vocabulary import ensure_tag_vocabulary

    ensure_tag_vocabulary(apps.get_model("taggit", "Tag"))


class Migration(migrations.Migration):
    dependencies = [
        ("prompts", "0001_initial"),
        ("taggit", "0006_rename_taggeditem_content_type_object_id_taggit_tagg_content_8fc721_idx"),
    ]

    operations = [migrations.RunPython(seed_vocabulary, migrations.RunPython.noop)]
