//! Heap accounting for prtip (placeholder until the counting allocator lands).
