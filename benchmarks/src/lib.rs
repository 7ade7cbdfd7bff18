//! Benchmarks and machine-limit yardsticks for prtip (see README.md in this directory).
