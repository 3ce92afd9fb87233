"""The worker child's metric files, read by `serve`'s scrape while the child writes them."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.mmap_dict import MmapedDict, mmap_key

from ticketsync.service.metrics.exposition import ChildFiles


def test_a_file_the_child_is_still_creating_is_passed_over(tmp_path: Path) -> None:
    written = MmapedDict(str(tmp_path / "counter_41.db"))
    key = mmap_key("jobs_total", "jobs_total", ("kind",), ("create",), "Jobs.")
    written.write_value(key, 3.0, 0.0)
    written.close()
    (tmp_path / "counter_42.db").touch()  # created, not yet sized: the instant a scrape sees

    families = list(ChildFiles(tmp_path).collect())

    samples = [(s.name, s.labels, s.value) for family in families for s in family.samples]
    assert samples == [("jobs_total", {"kind": "create"}, 3.0)]
