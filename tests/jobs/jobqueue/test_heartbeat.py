"""A running inference batch heartbeats: one UPDATE refreshes every member still leased."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.jobqueue import batches, leases
from jobs.jobqueue.heartbeat import BatchHeartbeat
from jobs.models import JobStatus, Summary
from tests.factories import SummaryFactory


@pytest.mark.django_db
def test_a_beat_refreshes_every_member_and_notices_a_lost_lease():
    rows = [SummaryFactory() for _ in range(3)]
    batch = batches.claim_batch(rows[0].pk, 3)
    old = timezone.now() - timedelta(minutes=1)
    Summary.objects.update(heartbeat_at=old)
    beat = BatchHeartbeat(leases.SUMMARY, [m.lease for m in batch], interval=5)
    beat.beat()
    assert all(r.heartbeat_at > old for r in Summary.objects.all())
    assert not beat.lease_lost
    Summary.objects.filter(pk=rows[2].pk).update(lease_token=None, status=JobStatus.QUEUED)
    beat.beat()  # the reaper gave one away meanwhile
    assert beat.lease_lost


@pytest.mark.django_db(transaction=True)
def test_the_thread_beats_while_the_batch_runs():
    rows = [SummaryFactory() for _ in range(2)]
    batch = batches.claim_batch(rows[0].pk, 2)
    claimed = {r.pk: r.heartbeat_at for r in Summary.objects.all()}

    def beaten():
        return all(r.heartbeat_at > claimed[r.pk] for r in Summary.objects.all())

    with BatchHeartbeat(leases.SUMMARY, [m.lease for m in batch], interval=0.05):
        deadline = time.monotonic() + 10  # meanwhile, the model's batched call
        while not beaten() and time.monotonic() < deadline:
            time.sleep(0.05)
    assert beaten()
