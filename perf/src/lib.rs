//! synwall benchmarks.
