"""The fault soak in small (``bench.fault_soak`` runs the full one: 200 sync kills, 20 server kills):
sync and server killed, a fault proxy, a feeder and one poisoned item; nothing lost or doubled, only the
poisoned item quarantined, and the items behind it delivered."""

from bench.fault_soak import soak


def test_a_small_fault_soak_loses_nothing_and_holds_only_the_poisoned_item() -> None:
    result = soak(sync_kills=6, server_kills=2, behind=100, rate=0.3, seed=7, max_seconds=120)
    assert (result["sync_kills"], result["server_kills"]) == (6, 2)
    assert result["recorded"] > 100
    assert (result["lost"], result["duplicated"], result["pending_after_drain"]) == (0, 0, 0)
    assert result["quarantined"] == 1 and result["quarantined_is_the_poisoned_item"]
    assert result["behind_delivered_after_s"] is not None
    assert result["faults_seen"]["poisoned"] >= 1
