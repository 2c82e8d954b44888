//! VIC guestinfo/extraConfig key encoding (vic.md §6.4). Being written.
