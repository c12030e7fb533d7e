"""Django-Q entry points: take ids, call a service, return a small summary. Safe to run twice."""
from prompts.services import lifecycle, processing, trending


def generate_ai_content(prompt_id: int) -> dict:
    outcome = processing.generate_ai_content(prompt_id=prompt_id)
    if outcome.status in {"success", "partial", "fallback"}:
        lifecycle.after_processing(prompt_id=prompt_id, outcome=outcome.status, reason=outcome.reason)
    return {"status": outcome.status, "reason": outcome.reason}


def rename_files_for_seo(prompt_id: int) -> dict:
    return {"status": lifecycle.rename_files_for_seo(prompt_id=prompt_id)}


# The spec's name for the same task.
rename_b2_files_for_seo = rename_files_for_seo


def delete_prompt_files(prompt_id: int) -> dict:
    return {"deleted": lifecycle.delete_prompt_files(prompt_id=prompt_id)}


def cleanup_deleted_prompts() -> dict:
    return lifecycle.cleanup_deleted_prompts()


def sweep_orphaned_uploads() -> dict:
    return lifecycle.sweep_orphaned_uploads()


def recover_stuck_prompts() -> dict:
    return lifecycle.recover_stuck_prompts()


def retry_failed_ai() -> dict:
    return lifecycle.retry_failed_ai()


def purge_stale_media() -> dict:
    return lifecycle.purge_stale_media()


def refresh_trending() -> dict:
    return trending.refresh_trending()
