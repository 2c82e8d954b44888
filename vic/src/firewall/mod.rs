//! Container-network firewall trust levels (vic.md §3). Being written.
