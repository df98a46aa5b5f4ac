//! Markers and limits of the ids the engine hands out.

/// "No rule / no app" marker for the u16 name ids.
pub const NONE_ID: u16 = u16::MAX;

/// Most slots one session table (one worker's) can have: bucket slot numbers are 24 bits
/// (plus one). Config validation caps `session.max_sessions` per worker with it.
pub const MAX_TABLE_CAPACITY: u32 = (1 << 24) - 2;
