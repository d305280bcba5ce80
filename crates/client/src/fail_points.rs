//! Test-only (`--features fail-points`): force a panic in a named background task, to
//! prove that panics are contained (see `task.rs` and docs/DESIGN.md "Panics").
//! `arm("sender")` makes the next pass of the `sender` task through its fail point panic,
//! once. Names are the task names of `task::spawn`.

use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;

static ANY: AtomicBool = AtomicBool::new(false);
static ARMED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Every task name with a fail point.
pub const TASKS: &[&str] = &[
    "connection-reader",
    "connection-writer",
    "reauthenticate",
    "sender",
    "sink",
    "produce-response",
    "init-producer-id",
    "add-partitions",
    "metadata-refresh",
    "fetcher",
    "consumer-control",
    "group-events",
    "group",
];

/// Makes the next pass of task `name` through its fail point panic (once).
pub fn arm(name: &str) {
    assert!(TASKS.contains(&name), "no fail point named `{name}`");
    ARMED.lock().push(name.to_string());
    ANY.store(true, Ordering::Release);
}

/// Disarms every fail point not hit yet.
pub fn disarm_all() {
    ARMED.lock().clear();
    ANY.store(false, Ordering::Release);
}

/// Whether `name` is still armed (not hit yet).
pub fn is_armed(name: &str) -> bool {
    ARMED.lock().iter().any(|n| n == name)
}

pub(crate) fn hit(name: &'static str) {
    if !ANY.load(Ordering::Acquire) {
        return;
    }
    let fire = {
        let mut armed = ARMED.lock();
        match armed.iter().position(|n| n == name) {
            Some(i) => {
                armed.remove(i);
                if armed.is_empty() {
                    ANY.store(false, Ordering::Release);
                }
                true
            }
            None => false,
        }
    };
    if fire {
        panic!("fail point `{name}`");
    }
}
