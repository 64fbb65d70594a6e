"""The admin lists batches with their progress and shows each batch's items."""

from __future__ import annotations

import io

import pytest

from conversions.batches.lifecycle import create_batch, dispatch
from conversions.batches.options import BatchOptions
from conversions.models import Batch, BatchItem

pytestmark = pytest.mark.django_db


@pytest.fixture
def finished_batch(inline_batches, logos) -> Batch:
    files = [(name, io.BytesIO(data)) for name, data in logos.items()]
    batch = create_batch(files=files, options=BatchOptions(kind="legacy")).batch
    dispatch(batch)
    batch.refresh_from_db()
    return batch


def test_batch_list_shows_progress(admin_client, finished_batch):
    response = admin_client.get("/admin/conversions/batch/")

    assert response.status_code == 200
    page = response.content.decode()
    assert str(finished_batch.pk)[:8] in page
    assert '<progress value="3" max="3"></progress> 3/3 (100%)' in page


def test_batch_page_lists_its_items_with_results(admin_client, finished_batch):
    response = admin_client.get(f"/admin/conversions/batch/{finished_batch.pk}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    for item in finished_batch.items.all():
        assert item.name in page
        assert f"/admin/conversions/conversion/{item.conversion_id}/change/" in page
    assert f"/api/batches/{finished_batch.pk}/download" in page


def test_cancel_action_stops_queued_items(admin_client, inline_batches, logos):
    files = [(name, io.BytesIO(data)) for name, data in logos.items()]
    batch = create_batch(files=files, options=BatchOptions()).batch

    admin_client.post(
        "/admin/conversions/batch/",
        {"action": "cancel_batches", "_selected_action": [str(batch.pk)]},
    )

    batch.refresh_from_db()
    assert batch.status == Batch.Status.CANCELLED
    assert batch.items.filter(status=BatchItem.Status.CANCELLED).count() == 3


def test_requeue_action_runs_the_items_left_queued(admin_client, inline_batches, logos):
    files = [(name, io.BytesIO(data)) for name, data in logos.items()]
    batch = create_batch(files=files, options=BatchOptions(kind="legacy")).batch

    admin_client.post(
        "/admin/conversions/batch/",
        {"action": "requeue_items", "_selected_action": [str(batch.pk)]},
    )

    batch.refresh_from_db()
    assert batch.status == Batch.Status.DONE
