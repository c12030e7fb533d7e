"""A real qcluster process picks up a task queued through Django-Q's ORM broker and saves its result."""

import pytest
from django_q.models import Success
from django_q.tasks import async_task, result

from tests.processes import start_qcluster, stop_process, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_qcluster_executes_a_queued_task_and_saves_its_result():
    worker = start_qcluster()
    try:
        task_id = async_task("math.copysign", 2.5, -1)
        wait_until(lambda: Success.objects.filter(id=task_id).exists(), timeout=30, message="the task result")
        task = Success.objects.get(id=task_id)
        assert task.success is True and task.func == "math.copysign"
        assert result(task_id) == -2.5
    finally:
        stop_process(worker)
