"""Who may moderate: one permission, "Can change prompt", checked the same way everywhere.

`is_staff` only lets a person into the admin; what they may do there and on the site comes from
permissions (superusers have them all). A moderator needs both: the queues live in the admin.
Reading other people's drafts, held and trashed prompts,
deleting anyone's comment and working the staff queues all ask this one question.
"""

MODERATE = "prompts.change_prompt"


def can_moderate(user) -> bool:
    # Staff only, like the admin's queues: and an ordinary visitor costs no permission query.
    return bool(user.is_authenticated and user.is_staff and user.has_perm(MODERATE))
