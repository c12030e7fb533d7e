"""Django-Q entry points: take ids, call a service, return a small summary. Safe to run twice."""
from prompts.services import ai_content, media_files, social, trash, trending


def generate_ai_content(prompt_id: int) -> dict:
    outcome = ai_content.generate_ai_content(prompt_id=prompt_id)
    if outcome.status in {"success", "partial", "fallback"}:
        ai_content.after_processing(prompt_id=prompt_id, outcome=outcome.status, reason=outcome.reason)
    return {"status": outcome.status, "reason": outcome.reason}


def rename_files_for_seo(prompt_id: int) -> dict:
    return {"status": media_files.rename_files_for_seo(prompt_id=prompt_id)}


def delete_prompt_files(prompt_id: int) -> dict:
    return {"deleted": trash.delete_prompt_files(prompt_id=prompt_id)}


def cleanup_deleted_prompts() -> dict:
    return trash.cleanup_deleted_prompts()


def sweep_orphaned_uploads() -> dict:
    return media_files.sweep_orphaned_uploads()


def recover_stuck_prompts() -> dict:
    return ai_content.recover_stuck_prompts()


def retry_failed_ai() -> dict:
    return ai_content.retry_failed_ai()


def purge_stale_media() -> dict:
    return media_files.purge_stale_media()


def purge_view_marks() -> dict:
    return {"deleted": social.purge_view_marks()}


def refresh_trending() -> dict:
    return trending.refresh_trending()
