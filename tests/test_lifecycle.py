"""After processing: SEO rename, trash and restore, cleanup, orphan sweep, stuck-prompt recovery, AI retries."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.db import OperationalError, connection
from django.utils import timezone
from django_q.models import OrmQ

from prompts import tasks
from prompts.media import storage
from prompts.models import Prompt, Upload
from prompts.services import ai_content, media_files, submission, trash, uploads
from tests import media_samples
from tests.conftest import csrf_client
from tests.factories import ready_upload_for, submitted_prompt

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["local", "s3"])
def backend(request):
    if request.param == "s3":
        request.getfixturevalue("s3_media")
    return request.param


def finished(user, **kwargs) -> Prompt:
    upload = ready_upload_for(user)
    prompt = submission.submit_prompt(
        user=user, upload_id=upload.id, content="a lighthouse at dusk", ai_generator="flux", save_as_draft=False
    )
    tasks.generate_ai_content(prompt.id)
    return Prompt.objects.get(id=prompt.id)


def queued(func: str) -> list:
    return [task.task["args"] for task in OrmQ.objects.all() if task.func() == func]


# --- rename ----------------------------------------------------------------------------


def test_rename_moves_every_file_to_its_seo_name_and_deletes_the_old(alice, fake_openai, backend):
    prompt = finished(alice)
    old = dict(prompt.media_keys)
    assert queued("prompts.tasks.rename_files_for_seo") == [(prompt.id,)]
    assert tasks.rename_files_for_seo(prompt.id) == {"status": "renamed"}
    prompt.refresh_from_db()
    folder = f"public/{prompt.seo_filename_base}-{prompt.processing_uuid.hex[:8]}"
    assert prompt.media_keys == {
        "original": f"{folder}/original.jpg",
        "thumb": f"{folder}/thumb.jpg",
        "medium": f"{folder}/medium.jpg",
        "large": f"{folder}/large.jpg",
        "webp_thumb": f"{folder}/webp_thumb.webp",
        "webp": f"{folder}/webp.webp",
        "webp_large": f"{folder}/webp_large.webp",
    }
    assert prompt.b2_thumb_url.endswith(f"{folder}/thumb.jpg") and prompt.b2_image_url.endswith(
        f"{folder}/original.jpg"
    )
    for key in prompt.media_keys.values():
        assert storage.exists(key)
    # the old files outlive the rename for a grace period (pages rendered just before may load them)
    assert sorted(prompt.stale_media_keys) == sorted(old.values())
    assert all(storage.exists(key) for key in old.values())
    assert media_files.purge_stale_media() == {"purged": 0, "kept_for_retry": 0}
    assert media_files.purge_stale_media(now=timezone.now() + timedelta(minutes=11))["purged"] == 1
    assert not any(storage.exists(key) for key in old.values())
    assert Prompt.objects.get(id=prompt.id).stale_media_keys == []
    # and again: nothing to do, nothing broken
    assert tasks.rename_files_for_seo(prompt.id) == {"status": "in-place"}
    assert all(storage.exists(key) for key in prompt.media_keys.values())


def test_rename_after_a_crash_between_copy_and_save_finishes_the_job(alice, fake_openai, backend):
    prompt = finished(alice)
    old = dict(prompt.media_keys)
    targets = media_files.renamed_keys(prompt)
    for name in ("thumb", "medium"):  # the crash came after two of the copies
        storage.copy(old[name], targets[name])
    tasks.rename_files_for_seo(prompt.id)
    media_files.purge_stale_media(now=timezone.now() + timedelta(minutes=11))
    prompt.refresh_from_db()
    assert prompt.media_keys == targets and prompt.stale_media_keys == []
    assert all(storage.exists(k) for k in targets.values()) and not any(storage.exists(k) for k in old.values())


def test_rename_after_a_crash_between_save_and_delete_removes_the_leftovers(alice, fake_openai, backend):
    prompt = finished(alice)
    old = dict(prompt.media_keys)
    targets = media_files.renamed_keys(prompt)
    for name in old:
        storage.copy(old[name], targets[name])
    Prompt.objects.filter(id=prompt.id).update(media_keys=targets, stale_media_keys=list(old.values()))
    tasks.rename_files_for_seo(prompt.id)
    media_files.purge_stale_media(now=timezone.now() + timedelta(minutes=11))
    prompt.refresh_from_db()
    assert prompt.stale_media_keys == [] and not any(storage.exists(k) for k in old.values())
    assert all(storage.exists(k) for k in targets.values())


def test_rename_leaves_a_deleted_prompt_alone(alice, fake_openai):
    prompt = finished(alice)
    trash.trash_prompt(prompt=prompt)
    assert tasks.rename_files_for_seo(prompt.id) == {"status": "in-place"}  # private, where a trashed one belongs
    assert Prompt.objects.get(id=prompt.id).media_keys == prompt.media_keys
    assert all(storage.exists(k) for k in prompt.media_keys.values())


def test_pages_use_the_new_urls_after_the_rename(alice, fake_openai, client):
    prompt = finished(alice)
    tasks.rename_files_for_seo(prompt.id)
    prompt.refresh_from_db()
    html = client.get(f"/prompt/{prompt.slug}/").content.decode()
    assert prompt.b2_medium_url in html and "public/" in prompt.b2_medium_url
    assert client.get(prompt.b2_medium_url).status_code == 200


# --- trash ------------------------------------------------------------------------------


def test_trash_lists_days_left_and_restore_brings_the_prompt_back_as_it_was(alice, fake_openai):
    prompt = finished(alice)
    client = csrf_client(alice)
    response = client.post_form(f"/prompt/delete/{prompt.processing_uuid}/", follow=True)
    html = response.content.decode()
    assert "was moved to your trash. You can restore it within 5 days." in html
    assert "5 days left" in html and prompt.title in html
    assert csrf_client().get(f"/prompt/{prompt.slug}/").status_code == 404
    assert prompt.title not in csrf_client().get("/").content.decode()
    response = client.post_form(f"/trash/{prompt.id}/restore/", follow=True)
    assert response.redirect_chain[-1][0] == f"/prompt/{prompt.slug}/"
    restored = Prompt.objects.get(id=prompt.id)
    assert not restored.is_deleted and restored.status == prompt.status and restored.title == prompt.title
    assert sorted(restored.tags.names()) == sorted(prompt.tags.names())


@pytest.mark.parametrize(
    "premium,age_days,restorable", [(False, 4, True), (False, 6, False), (True, 29, True), (True, 31, False)]
)
def test_retention_is_5_days_free_and_30_days_premium(alice, carol, fake_openai, premium, age_days, restorable):
    user = carol if premium else alice
    prompt = finished(user)
    Prompt.objects.filter(id=prompt.id).update(is_deleted=True, deleted_at=timezone.now() - timedelta(days=age_days))
    if restorable:
        assert not trash.restore_prompt(user=user, prompt_id=prompt.id).is_deleted
    else:
        with pytest.raises(Exception, match="too long to restore"):
            trash.restore_prompt(user=user, prompt_id=prompt.id)


def test_another_user_cannot_restore_or_delete(alice, bob, fake_openai):
    prompt = finished(alice)
    bob_client = csrf_client(bob)
    token = bob_client.cookies["csrftoken"].value
    assert (
        bob_client.post(f"/prompt/delete/{prompt.processing_uuid}/", {"csrfmiddlewaretoken": token}).status_code == 404
    )
    trash.trash_prompt(prompt=prompt)
    assert bob_client.post(f"/trash/{prompt.id}/restore/", {"csrfmiddlewaretoken": token}).status_code == 404
    assert Prompt.objects.get(id=prompt.id).is_deleted


@pytest.mark.django_db(transaction=True)  # the tasks are queued on commit
def test_restoring_a_prompt_cancelled_during_processing_queues_the_ai_again(alice, fake_openai):
    upload = ready_upload_for(alice)
    prompt = submission.submit_prompt(
        user=alice, upload_id=upload.id, content="x y z", ai_generator="flux", save_as_draft=False
    )
    OrmQ.objects.all().delete()
    trash.cancel_prompt(user=alice, processing_uuid=prompt.processing_uuid)
    trash.restore_prompt(user=alice, prompt_id=prompt.id)
    assert queued("prompts.tasks.generate_ai_content") == [(prompt.id,)]


@pytest.mark.django_db(transaction=True)  # the tasks are queued on commit
def test_immediate_cleanup_on_cancel_deletes_files_but_keeps_the_row(alice, fake_openai, settings):
    settings.MEDIA_DELETE_ON_CANCEL = True
    upload = ready_upload_for(alice)
    prompt = submission.submit_prompt(
        user=alice, upload_id=upload.id, content="x y z", ai_generator="flux", save_as_draft=False
    )
    trash.cancel_prompt(user=alice, processing_uuid=prompt.processing_uuid)
    assert queued("prompts.tasks.delete_prompt_files") == [(prompt.id,)]
    assert tasks.delete_prompt_files(prompt.id)["deleted"] == 7  # the original and six variants
    prompt.refresh_from_db()
    assert prompt.is_deleted and prompt.files_deleted_at is not None
    assert not any(storage.exists(k) for k in prompt.media_keys.values())


# --- cleanup and sweep ------------------------------------------------------------------


def test_cleanup_deletes_files_then_rows_past_retention_only(alice, carol, fake_openai, backend):
    old_free, recent_free, old_premium = finished(alice), finished(alice), finished(carol)
    Prompt.objects.filter(id=old_free.id).update(is_deleted=True, deleted_at=timezone.now() - timedelta(days=6))
    Prompt.objects.filter(id=recent_free.id).update(is_deleted=True, deleted_at=timezone.now() - timedelta(days=2))
    Prompt.objects.filter(id=old_premium.id).update(is_deleted=True, deleted_at=timezone.now() - timedelta(days=6))
    assert tasks.cleanup_deleted_prompts() == {"deleted": 1, "kept_for_retry": 0}
    assert not Prompt.objects.filter(id=old_free.id).exists()
    assert not any(storage.exists(k) for k in old_free.media_keys.values())
    assert Prompt.objects.filter(id__in=[recent_free.id, old_premium.id]).count() == 2
    assert all(storage.exists(k) for k in recent_free.media_keys.values())


def test_cleanup_keeps_the_row_when_storage_fails(alice, fake_openai, s3_media, settings):
    prompt = finished(alice)
    Prompt.objects.filter(id=prompt.id).update(is_deleted=True, deleted_at=timezone.now() - timedelta(days=6))
    broken = {**settings.STORAGES["default"]["OPTIONS"], "endpoint_url": "http://127.0.0.1:9"}  # nothing listens
    settings.STORAGES = {**settings.STORAGES, "default": {**settings.STORAGES["default"], "OPTIONS": broken}}
    assert tasks.cleanup_deleted_prompts() == {"deleted": 0, "kept_for_retry": 1}
    assert Prompt.objects.filter(id=prompt.id).exists()


def test_orphan_sweep_removes_unsubmitted_uploads_after_24_hours(alice, fake_openai, backend):
    fresh, stale = ready_upload_for(alice), ready_upload_for(alice)
    submitted = finished(alice)
    Upload.objects.filter(id__in=[stale.id, submitted.upload_id]).update(
        created_at=timezone.now() - timedelta(hours=25)
    )
    assert tasks.sweep_orphaned_uploads() == {"removed": 1, "kept_for_retry": 0, "incoming_deleted": 0}
    assert not Upload.objects.filter(id=stale.id).exists()
    assert not storage.exists(stale.file_key) and not any(storage.exists(k) for k in stale.variant_keys.values())
    assert Upload.objects.filter(id__in=[fresh.id, submitted.upload_id]).count() == 2
    assert storage.exists(fresh.file_key)
    assert all(storage.exists(k) for k in Prompt.objects.get(id=submitted.id).media_keys.values())


def stored_under(request, backend, prefix: str) -> list[str]:
    """What the storage itself holds under `prefix`, asked of the disk or of moto directly, not through the app."""
    if backend == "s3":
        s3 = request.getfixturevalue("s3_media")
        listing = s3.client.list_objects_v2(Bucket=s3.bucket, Prefix=prefix)
        return sorted(item["Key"] for item in listing.get("Contents", []))
    root = Path(request.getfixturevalue("settings").MEDIA_ROOT)
    return sorted(str(p.relative_to(root)) for p in (root / prefix).rglob("*") if p.is_file())


def fail_upload_saves(execute, sql, params, many, context):
    """The database going away just as the upload row is saved (what a failover looks like to Django)."""
    if sql.lstrip().upper().startswith("UPDATE") and "prompts_upload" in sql:
        raise OperationalError("server closed the connection unexpectedly")
    return execute(sql, params, many, context)


@pytest.mark.django_db(transaction=True)  # the failed statement must not poison the test's own transaction
@pytest.mark.parametrize("abandoned", [True, False], ids=["abandoned", "submitted-and-deleted"])
def test_files_written_before_a_failed_database_save_do_not_outlive_their_upload(
    request, alice, fake_openai, backend, abandoned
):
    """The variants are written, then the database fails before their keys are saved: no row names those
    files. Whether the person gives up, or goes on and later deletes the prompt, the sweeps leave nothing."""
    data = media_samples.jpeg_bytes((1600, 1200), color=(20, 120, 200))
    signed = uploads.presign_upload(user=alice, filename="photo.jpg", content_type="image/jpeg", file_size=len(data))
    storage.save_bytes(uploads.incoming_key(signed.upload), data, content_type="image/jpeg")
    uploads.complete_upload(user=alice, upload_id=signed.upload.id)
    uploads.moderate_upload(user=alice, upload_id=signed.upload.id)
    with connection.execute_wrapper(fail_upload_saves), pytest.raises(OperationalError):
        uploads.make_upload_variants(user=alice, upload_id=signed.upload.id)
    upload = Upload.objects.get(id=signed.upload.id)
    assert upload.state == Upload.State.MODERATED and upload.variant_keys == {}
    folder = f"uploads/{upload.id}/"
    unrecorded = set(stored_under(request, backend, folder)) - {upload.file_key}
    assert unrecorded, "the variant files were written before the failed save"

    if abandoned:
        Upload.objects.filter(id=upload.id).update(created_at=timezone.now() - timedelta(hours=25))
        assert tasks.sweep_orphaned_uploads()["removed"] == 1
    else:  # the retry succeeds, the prompt is published (files copied to public/), then trashed and cleaned up
        upload = uploads.make_upload_variants(user=alice, upload_id=upload.id)
        prompt = submission.submit_prompt(
            user=alice, upload_id=upload.id, content="a lighthouse at dusk", ai_generator="flux", save_as_draft=False
        )
        tasks.generate_ai_content(prompt.id)
        tasks.rename_files_for_seo(prompt.id)
        Prompt.objects.filter(id=prompt.id).update(is_deleted=True, deleted_at=timezone.now() - timedelta(days=6))
        assert tasks.cleanup_deleted_prompts()["deleted"] == 1
    assert stored_under(request, backend, folder) == []


# --- stuck prompts and AI retries -------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the tasks are queued on commit
def test_stuck_prompt_is_requeued_once_then_given_the_fallback(alice, fake_openai):
    upload = ready_upload_for(alice)
    prompt = submission.submit_prompt(
        user=alice, upload_id=upload.id, content="a quiet harbour at dawn", ai_generator="flux", save_as_draft=False
    )
    OrmQ.objects.all().delete()  # the task was lost with its worker
    now = timezone.now()
    assert ai_content.recover_stuck_prompts(now=now + timedelta(minutes=5)) == {"requeued": 0, "recovered": 0}
    assert ai_content.recover_stuck_prompts(now=now + timedelta(minutes=11)) == {"requeued": 1, "recovered": 0}
    assert queued("prompts.tasks.generate_ai_content") == [(prompt.id,)]
    assert ai_content.recover_stuck_prompts(now=now + timedelta(minutes=20)) == {"requeued": 0, "recovered": 0}
    assert ai_content.recover_stuck_prompts(now=now + timedelta(minutes=31)) == {"requeued": 0, "recovered": 1}
    prompt.refresh_from_db()
    assert prompt.processing_complete and prompt.needs_seo_review and prompt.seo_review_reason == "stuck"
    assert prompt.title == "a quiet harbour at dawn" and prompt.status == Prompt.Status.DRAFT


def test_ai_retry_queue_succeeds_on_a_later_try_and_publishes(alice, fake_openai):
    fake_openai.script("content", status=500, times=1)
    prompt = finished(alice)
    assert prompt.needs_seo_review and prompt.ai_next_retry_at is not None
    wait = prompt.ai_next_retry_at - timezone.now()
    assert timedelta(seconds=50) < wait <= timedelta(minutes=1)
    assert ai_content.retry_failed_ai(now=timezone.now()) == {"queued": 0}  # not due yet
    assert ai_content.retry_failed_ai(now=timezone.now() + timedelta(minutes=2)) == {"queued": 1}
    tasks.generate_ai_content(prompt.id)
    prompt.refresh_from_db()
    assert not prompt.needs_seo_review and prompt.status == Prompt.Status.PUBLISHED and prompt.ai_next_retry_at is None


def test_ai_retry_queue_backs_off_and_gives_up_after_three_tries(alice, fake_openai):
    fake_openai.script("content", status=500)
    prompt = finished(alice)
    waits = []
    for _ in range(3):
        prompt.refresh_from_db()
        waits.append(round((prompt.ai_next_retry_at - timezone.now()).total_seconds() / 60))
        assert ai_content.retry_failed_ai(now=timezone.now() + timedelta(hours=1)) == {"queued": 1}
        tasks.generate_ai_content(prompt.id)
    prompt.refresh_from_db()
    assert waits == [1, 5, 30]
    assert prompt.ai_next_retry_at is None and prompt.needs_seo_review and prompt.ai_attempts == 4
    assert ai_content.retry_failed_ai(now=timezone.now() + timedelta(days=1)) == {"queued": 0}


def test_two_prompts_with_the_same_title_in_the_same_second_never_share_files(alice, bob, fake_openai):
    first, second = finished(alice), finished(bob)
    Prompt.objects.filter(id=second.id).update(seo_filename_base=first.seo_filename_base)
    tasks.rename_files_for_seo(first.id)
    tasks.rename_files_for_seo(second.id)
    first.refresh_from_db()
    second.refresh_from_db()
    assert set(first.media_keys.values()).isdisjoint(second.media_keys.values())
    assert storage.read_bytes(first.media_keys["thumb"]) != storage.read_bytes(second.media_keys["thumb"])


def test_premium_authors_are_told_their_own_retention_everywhere(carol, fake_openai):
    """Premium keeps trash 30 days: the processing page's dialog and the cancel message say so, not 5."""
    client = csrf_client(carol)
    prompt = submitted_prompt(carol)
    page = client.get(f"/prompt/processing/{prompt.processing_uuid}/").content.decode()
    assert 'data-retention-days="30"' in page
    response = client.post_form(f"/prompt/processing/{prompt.processing_uuid}/cancel/", follow=True)
    assert "You can restore it from trash within 30 days." in response.content.decode()


def test_a_held_prompt_its_author_trashed_can_be_restored_from_the_trash_page(alice, fake_openai):
    """The trash page offers Restore exactly when restoring is allowed (one rule for both)."""
    prompt = submitted_prompt(alice, flagged=True)
    tasks.generate_ai_content(prompt.id)
    prompt.refresh_from_db()
    assert prompt.moderation_status == Prompt.ModerationStatus.PENDING
    client = csrf_client(alice)
    trash.trash_prompt(prompt=prompt)
    assert ">Restore<" in client.get("/trash/").content.decode()
    response = client.post_form(f"/trash/{prompt.id}/restore/", follow=True)
    assert f"“{prompt.title}” was restored." in response.content.decode()
    prompt.refresh_from_db()
    assert not prompt.is_deleted and prompt.status == Prompt.Status.DRAFT  # still held: a draft until approved


# --- lost tasks (issue 24) -------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the task is queued on commit
def test_a_processing_prompt_without_a_task_is_queued_again_once(alice, fake_openai):
    upload = ready_upload_for(alice)
    prompt = submission.submit_prompt(
        user=alice, upload_id=upload.id, content="a quiet harbour at dawn", ai_generator="flux", save_as_draft=False
    )
    assert ai_content.requeue_lost_ai_tasks()["requeued"] == 0  # its task waits in the queue
    OrmQ.objects.all().delete()  # the task failed and Django-Q acknowledged it
    assert ai_content.requeue_lost_ai_tasks()["requeued"] == 0  # not before the grace period
    later = timezone.now() + ai_content.AI_TASK_LOST_AFTER + timedelta(seconds=1)
    assert ai_content.requeue_lost_ai_tasks(now=later)["requeued"] == 1
    assert queued("prompts.tasks.generate_ai_content") == [(prompt.id,)]
    assert ai_content.requeue_lost_ai_tasks(now=later)["requeued"] == 0  # once: the new task is queued
    tasks.generate_ai_content(prompt.id)
    OrmQ.objects.all().delete()
    assert ai_content.requeue_lost_ai_tasks(now=later + timedelta(minutes=1))["requeued"] == 0  # complete


def test_tasks_taken_but_never_started_are_offered_again_and_running_ones_are_not(db):
    from django_q.conf import Conf

    from prompts import worker_lifecycle

    now = timezone.now()
    retry = timedelta(seconds=Conf.RETRY)
    rows = {
        "waiting": now - timedelta(seconds=1),
        "running (short lease)": now + timedelta(seconds=worker_lifecycle.RUNNING_LEASE_SECONDS),
        "taken 5 s ago": now + retry - timedelta(seconds=5),
        "taken 60 s ago, never started": now + retry - timedelta(seconds=60),
    }
    ids = {name: OrmQ.objects.create(key="promptfinder", payload="x", lock=lock).id for name, lock in rows.items()}
    assert worker_lifecycle.release_unstarted_tasks(now=now) == 1
    locks = {name: OrmQ.objects.get(id=row_id).lock for name, row_id in ids.items()}
    assert locks["taken 60 s ago, never started"] == now
    assert all(locks[name] == rows[name] for name in rows if name != "taken 60 s ago, never started")
