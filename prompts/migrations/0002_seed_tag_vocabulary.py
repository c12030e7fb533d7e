from django.db import migrations
from django.utils.text import slugify


def seed_vocabulary(apps, schema_editor):
    from prompts.vocabulary import TAG_VOCABULARY

    Tag = apps.get_model("taggit", "Tag")
    for name in TAG_VOCABULARY:
        Tag.objects.get_or_create(name=name, defaults={"slug": slugify(name)})


class Migration(migrations.Migration):
    dependencies = [
        ("prompts", "0001_initial"),
        ("taggit", "0006_rename_taggeditem_content_type_object_id_taggit_tagg_content_8fc721_idx"),
    ]

    operations = [migrations.RunPython(seed_vocabulary, migrations.RunPython.noop)]
