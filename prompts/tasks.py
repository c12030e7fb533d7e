"""Django-Q entry points: take ids, call a service, return a small summary. Safe to run twice."""

from prompts.observability import task
from prompts.services import ai_content, late_moderation, media_files, social, trash, trending


@task
def generate_ai_content(prompt_id: int) -> dict:
    outcome = ai_content.generate_ai_content(prompt_id=prompt_id)
    if outcome.status in {"success", "partial", "fallback"}:
        ai_content.after_processing(prompt_id=prompt_id, outcome=outcome.status, reason=outcome.reason)
    return {"status": outcome.status, "reason": outcome.reason}


@task
def finish_moderation(upload_id: str) -> dict:
    return {"action": late_moderation.finish_moderation(upload_id=upload_id)}


@task
def rename_files_for_seo(prompt_id: int) -> dict:
    return {"status": media_files.rename_files_for_seo(prompt_id=prompt_id)}


@task
def delete_prompt_files(prompt_id: int) -> dict:
    return {"deleted": trash.delete_prompt_files(prompt_id=prompt_id)}


@task
def cleanup_deleted_prompts() -> dict:
    return trash.cleanup_deleted_prompts()


@task
def sweep_orphaned_uploads() -> dict:
    return media_files.sweep_orphaned_uploads()


@task
def recover_stuck_prompts() -> dict:
    return ai_content.recover_stuck_prompts()


@task
def retry_failed_ai() -> dict:
    return ai_content.retry_failed_ai()


@task
def purge_stale_media() -> dict:
    return media_files.purge_stale_media()


@task
def purge_view_marks() -> dict:
    return {"deleted": social.purge_view_marks()}


@task
def refresh_trending() -> dict:
    return trending.refresh_trending()
