//! Operator work over the whole session table, in bounded slices.
//!
//! `show session all`, `clear session all [filter]` and a reload's re-check touch every live
//! session; done in one call on a worker holding a million sessions they stall its forwarding
//! for tens to hundreds of milliseconds. A [`Walk`] instead keeps its place (a [`Cursor`]: the
//! next slot) and each [`Engine::step`] does at most [`SLICE_SLOTS`] slots and
//! [`SLICE_SESSIONS`] live sessions, so the worker runs one slice between two bursts and its
//! loop stays short (perf/README.md has the measured longest slice).
//!
//! What a walk sees: every session live when it starts and still live when the cursor reaches
//! its slot, once; a session opened during the walk may or may not be visited (its slot may be
//! behind the cursor). That is what each task needs: a listing is a view of a moving table
//! anyway, a clear ends what existed when it was asked, and a reload's new policy is in force
//! for new sessions from the walk's start, so only the older ones need the re-check.

use super::*;
use crate::api::{SessionFilter, SessionView};
use crate::records::NameTable;

/// Slots one step looks at, at most (a free slot costs a generation read).
pub const SLICE_SLOTS: u32 = 16_384;
/// Live sessions one step works on, at most, when each needs its view built (a listing, a
/// filtered clear: one to two microseconds each, with their allocations).
pub const SLICE_SESSIONS: usize = 64;
/// Live sessions one step works on when none needs a view (a reload's re-check: a policy
/// lookup each; a clear of everything: an end record each).
pub const SLICE_SESSIONS_NO_VIEW: usize = 256;

/// Where a walk over the table stands: the next slot to look at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cursor {
    next: u32,
}

/// What a walk does with each live session it visits.
#[derive(Debug)]
pub enum Task {
    /// Collects the views of the sessions matching `filter`, at most `limit`.
    List {
        filter: SessionFilter,
        limit: usize,
        found: Vec<SessionView>,
    },
    /// Ends the sessions matching `filter` with `reason`; counts them.
    Clear {
        filter: SessionFilter,
        reason: EndReason,
        cleared: usize,
    },
    /// Re-checks every session against the policy in force (after a reload); counts those it
    /// ended.
    Recheck { ended: usize },
}

/// A task and how far through the table it is.
#[derive(Debug)]
pub struct Walk {
    cursor: Cursor,
    pub task: Task,
}

impl Walk {
    pub fn new(task: Task) -> Walk {
        Walk {
            cursor: Cursor::default(),
            task,
        }
    }

    /// Live sessions a step of this walk works on at most.
    fn slice(&self) -> usize {
        match &self.task {
            Task::List { .. } => SLICE_SESSIONS,
            Task::Clear { filter, .. } if filter != &SessionFilter::default() => SLICE_SESSIONS,
            Task::Clear { .. } | Task::Recheck { .. } => SLICE_SESSIONS_NO_VIEW,
        }
    }
}

impl Engine {
    /// Does one bounded slice of `walk` (between bursts); true once the walk has covered the
    /// whole table. `names` resolves the names a view or a filter needs.
    pub fn step(&mut self, walk: &mut Walk, now_ns: u64, names: &NameTable) -> bool {
        let slots = self.table.capacity() as u32;
        let end = walk.cursor.next.saturating_add(SLICE_SLOTS).min(slots);
        let (mut worked, budget) = (0, walk.slice());
        let mut slot = walk.cursor.next;
        while slot < end && worked < budget {
            if self.table.is_live(slot) && !self.table.value(slot).has(sf::ENDED) {
                worked += 1;
                if self.visit(&mut walk.task, slot, now_ns, names) {
                    // The task needs no more (a listing reached its limit).
                    walk.cursor.next = slots;
                    return true;
                }
            }
            slot += 1;
        }
        walk.cursor.next = slot;
        if matches!(walk.task, Task::Clear { .. } | Task::Recheck { .. }) {
            self.counters
                .view()
                .set(WorkerBlock::SESSIONS_ACTIVE, self.table.len() as u64);
        }
        slot >= slots
    }

    /// Runs `walk` to its end in one call (tests, replay, fuzzing: no forwarding to keep up).
    pub fn finish_walk(&mut self, walk: &mut Walk, now_ns: u64, names: &NameTable) {
        while !self.step(walk, now_ns, names) {}
    }

    /// `task`'s work on one live session; true when the task is complete.
    fn visit(&mut self, task: &mut Task, slot: u32, now_ns: u64, names: &NameTable) -> bool {
        match task {
            Task::List {
                filter,
                limit,
                found,
            } => {
                let view = self.view(slot, now_ns, names);
                if filter.matches(&view) {
                    found.push(view);
                }
                found.len() >= *limit
            }
            Task::Clear {
                filter,
                reason,
                cleared,
            } => {
                if filter == &SessionFilter::default()
                    || filter.matches(&self.view(slot, now_ns, names))
                {
                    self.end_with(slot, Some(*reason), now_ns);
                    *cleared += 1;
                }
                false
            }
            Task::Recheck { ended } => {
                *ended += self.recheck_session(slot, now_ns) as usize;
                false
            }
        }
    }
}
