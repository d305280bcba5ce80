//! Consumer-group membership against a real broker: assignment, rebalances, commits,
//! slow revocation handlers, static and cooperative membership.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nkafka_client::cluster::Cluster;
use nkafka_client::config::ClientConfig;
use nkafka_client::group::{Assignor, GroupConfig, GroupEvent, GroupMember};
use nkafka_client::types::{OffsetAndMetadata, TopicPartition};
use tokio::time::Instant;

/// Orders events across all members of a test.
static SEQ: AtomicU64 = AtomicU64::new(0);

#[derive(Clone, Debug)]
enum Ev {
    Assigned(u64, i32, Vec<TopicPartition>),
    Revoked(u64, Vec<TopicPartition>),
    /// The application acknowledged a revocation.
    RevokeDone(u64, Vec<TopicPartition>),
    Lost(u64, Vec<TopicPartition>),
    Fatal(u64, String),
}

/// A member plus a stand-in application that logs events and acknowledges revocations
/// after `revoke_delay`.
struct App {
    member: GroupMember,
    log: Arc<Mutex<Vec<Ev>>>,
    revoke_delay: Arc<Mutex<Duration>>,
}

impl App {
    fn start(cfg: GroupConfig) -> App {
        App::start_with(cfg, common::client_config())
    }

    fn start_with(cfg: GroupConfig, client: ClientConfig) -> App {
        let cluster = Cluster::new(client, 16);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let member = GroupMember::start(cluster, cfg, tx).unwrap();
        let log: Arc<Mutex<Vec<Ev>>> = Arc::default();
        let revoke_delay: Arc<Mutex<Duration>> = Arc::default();
        let (l, d) = (log.clone(), revoke_delay.clone());
        tokio::spawn(async move {
            while let Some(ev) = rx.recv().await {
                let seq = SEQ.fetch_add(1, Ordering::SeqCst);
                match ev {
                    GroupEvent::Assigned { generation, partitions } => {
                        l.lock().unwrap().push(Ev::Assigned(seq, generation, partitions))
                    }
                    GroupEvent::Revoked { partitions, done } => {
                        l.lock().unwrap().push(Ev::Revoked(seq, partitions.clone()));
                        let delay = *d.lock().unwrap();
                        let l2 = l.clone();
                        // Acknowledge from elsewhere, like an app committing first.
                        tokio::spawn(async move {
                            tokio::time::sleep(delay).await;
                            let seq = SEQ.fetch_add(1, Ordering::SeqCst);
                            l2.lock().unwrap().push(Ev::RevokeDone(seq, partitions));
                            let _ = done.send(());
                        });
                    }
                    GroupEvent::Lost { partitions } => l.lock().unwrap().push(Ev::Lost(seq, partitions)),
                    GroupEvent::Fatal(e) | GroupEvent::Error(e) => {
                        l.lock().unwrap().push(Ev::Fatal(seq, e.code().to_string()))
                    }
                }
            }
        });
        App {
            member,
            log,
            revoke_delay,
        }
    }

    fn events(&self) -> Vec<Ev> {
        self.log.lock().unwrap().clone()
    }

    fn parts(&self) -> Vec<i32> {
        self.member.assignment().iter().map(|tp| tp.partition).collect()
    }

    /// Lost and Fatal events, described.
    fn lost_or_fatal(&self) -> Vec<String> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                Ev::Lost(s, ps) => Some(format!("#{s} lost {ps:?}")),
                Ev::Fatal(s, code) => Some(format!("#{s} fatal {code}")),
                _ => None,
            })
            .collect()
    }
}

fn config(group: &str, assignors: &[Assignor]) -> GroupConfig {
    let mut c = GroupConfig::new(group);
    c.heartbeat_interval = Duration::from_millis(500);
    c.session_timeout = Duration::from_secs(10);
    c.rebalance_timeout = Duration::from_secs(30);
    c.assignors = assignors.to_vec();
    c
}

async fn create(topic: &str, partitions: i32) {
    common::create_topic(topic, partitions).await;
}

async fn wait_until(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Members agree on a generation, their assignments are disjoint, cover `partitions`,
/// and have `per_member` partitions each; and stay so for a second.
async fn wait_stable(apps: &[&App], partitions: i32, per_member: &[usize]) {
    let check = || {
        let gens: BTreeSet<i32> = apps.iter().map(|a| a.member.metadata().generation_id).collect();
        if gens.len() != 1 || gens.contains(&-1) {
            return false;
        }
        let mut all = Vec::new();
        let mut counts = Vec::new();
        for a in apps {
            let p = a.parts();
            counts.push(p.len());
            all.extend(p);
        }
        counts.sort_unstable();
        let mut want = per_member.to_vec();
        want.sort_unstable();
        all.sort_unstable();
        all == (0..partitions).collect::<Vec<_>>() && counts == want
    };
    wait_until("the group is stable", Duration::from_secs(60), check).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(check(), "the group changed again");
}

fn topic_config(prefix: &str) -> (String, String) {
    (common::unique_topic(prefix), common::unique_topic("group"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_member_gets_every_partition() {
    let (topic, group) = topic_config("grp-one");
    create(&topic, 4).await;
    let mut cfg = GroupConfig::new(&group); // Java defaults: range + cooperative-sticky, eager
    cfg.heartbeat_interval = Duration::from_millis(500);
    let a = App::start(cfg);
    assert!(!a.member.is_cooperative());
    a.member.subscribe(vec![topic.clone()]);
    wait_stable(&[&a], 4, &[4]).await;
    let md = a.member.metadata();
    assert!(!md.member_id.is_empty());
    assert!(md.generation_id >= 1);
    assert_eq!(md.group_id, group);
    let assigned: Vec<Ev> = a
        .events()
        .into_iter()
        .filter(|e| matches!(e, Ev::Assigned(..)))
        .collect();
    match assigned.last() {
        Some(Ev::Assigned(_, g, parts)) => {
            assert_eq!(*g, md.generation_id);
            assert_eq!(parts.iter().map(|p| p.partition).collect::<Vec<_>>(), vec![0, 1, 2, 3]);
            assert!(parts.iter().all(|p| *p.topic == *topic));
        }
        other => panic!("no Assigned event: {other:?}"),
    }
    a.member.close(Duration::from_secs(10)).await.unwrap();
    // Close offered the partitions back first.
    assert!(
        a.events()
            .iter()
            .any(|e| matches!(e, Ev::Revoked(_, p) if p.len() == 4)),
        "{:?}",
        a.events()
    );
    assert!(a.member.assignment().is_empty());
    assert_eq!(a.member.metadata().generation_id, -1);
}

async fn three_members_share_six(assignor: Assignor) -> Vec<App> {
    let (topic, group) = topic_config("grp-three");
    create(&topic, 6).await;
    let apps: Vec<App> = (0..3).map(|_| App::start(config(&group, &[assignor]))).collect();
    for a in &apps {
        a.member.subscribe(vec![topic.clone()]);
    }
    let refs: Vec<&App> = apps.iter().collect();
    wait_stable(&refs, 6, &[2, 2, 2]).await;
    for a in &apps {
        assert!(a.lost_or_fatal().is_empty(), "{:?}", a.events());
    }
    apps
}

/// Members sorted as the Java assignors sort dynamic members: by member id.
fn by_member_id(apps: &[App]) -> Vec<Vec<i32>> {
    let mut v: Vec<(String, Vec<i32>)> = apps
        .iter()
        .map(|a| (a.member.metadata().member_id, a.parts()))
        .collect();
    v.sort();
    v.into_iter().map(|(_, p)| p).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_share_six_partitions_range() {
    let apps = three_members_share_six(Assignor::Range).await;
    assert_eq!(by_member_id(&apps), vec![vec![0, 1], vec![2, 3], vec![4, 5]]);
    for a in &apps {
        a.member.close(Duration::from_secs(10)).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_share_six_partitions_roundrobin() {
    let apps = three_members_share_six(Assignor::RoundRobin).await;
    assert_eq!(by_member_id(&apps), vec![vec![0, 3], vec![1, 4], vec![2, 5]]);
    for a in &apps {
        a.member.close(Duration::from_secs(10)).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_share_six_partitions_cooperative_sticky() {
    let apps = three_members_share_six(Assignor::CooperativeSticky).await;
    assert!(apps[0].member.is_cooperative());
    // KIP-429: a partition is only ever assigned after its previous owner acknowledged
    // revoking it.
    check_cooperative_handoffs(&apps);
    for a in &apps {
        a.member.close(Duration::from_secs(10)).await.unwrap();
    }
}

/// Every partition one member got was, at that moment, owned by no other member: it was
/// never assigned before, or its last owner had acknowledged revoking it.
fn check_cooperative_handoffs(apps: &[App]) {
    // (seq, member index, +1 gained / -1 released, partition)
    let mut timeline = Vec::new();
    for (i, a) in apps.iter().enumerate() {
        for e in a.events() {
            match e {
                Ev::Assigned(s, _, ps) => timeline.extend(ps.into_iter().map(|p| (s, i, 1, p.partition))),
                Ev::RevokeDone(s, ps) | Ev::Lost(s, ps) => {
                    timeline.extend(ps.into_iter().map(|p| (s, i, -1, p.partition)))
                }
                _ => {}
            }
        }
    }
    timeline.sort();
    let mut owner: HashMap<i32, usize> = HashMap::new();
    for (s, i, d, p) in timeline {
        if d > 0 {
            if let Some(o) = owner.get(&p) {
                assert_eq!(
                    *o, i,
                    "partition {p} given to member {i} at {s} while member {o} still owned it"
                );
            }
            owner.insert(p, i);
        } else if owner.get(&p) == Some(&i) {
            owner.remove(&p);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_leaving_triggers_a_rebalance_that_redistributes() {
    let (topic, group) = topic_config("grp-leave");
    create(&topic, 6).await;
    let apps: Vec<App> = (0..3).map(|_| App::start(config(&group, &[Assignor::Range]))).collect();
    for a in &apps {
        a.member.subscribe(vec![topic.clone()]);
    }
    wait_stable(&apps.iter().collect::<Vec<_>>(), 6, &[2, 2, 2]).await;
    let before = apps[0].member.metadata().generation_id;
    let t = Instant::now();
    apps[2].member.close(Duration::from_secs(10)).await.unwrap();
    wait_stable(&[&apps[0], &apps[1]], 6, &[3, 3]).await;
    // LeaveGroup made it prompt: no waiting for the session timeout (10 s).
    assert!(t.elapsed() < Duration::from_secs(9), "took {:?}", t.elapsed());
    assert!(apps[0].member.metadata().generation_id > before);
    for a in &apps[..2] {
        assert!(a.lost_or_fatal().is_empty(), "{:?}", a.events());
        a.member.close(Duration::from_secs(10)).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_then_committed_returns_the_offsets() {
    let (topic, group) = topic_config("grp-commit");
    create(&topic, 3).await;
    let a = App::start(config(&group, &[Assignor::Range]));
    // Nothing committed yet.
    let tp = |p| TopicPartition::new(topic.as_str(), p);
    let none = a.member.committed(vec![tp(0)]).await.unwrap();
    assert_eq!(none, vec![(tp(0), None)]);

    a.member.subscribe(vec![topic.clone()]);
    wait_stable(&[&a], 3, &[3]).await;
    a.member
        .commit(vec![
            OffsetAndMetadata {
                tp: tp(0),
                offset: 42,
                leader_epoch: -1,
                metadata: Some("hello".into()),
            },
            OffsetAndMetadata {
                tp: tp(1),
                offset: 7,
                leader_epoch: 0,
                metadata: None,
            },
        ])
        .await
        .unwrap();
    let got = a.member.committed(vec![tp(1), tp(0), tp(2)]).await.unwrap();
    assert_eq!(got.len(), 3);
    assert_eq!(got[0].0, tp(1));
    assert_eq!(got[0].1.as_ref().map(|o| o.offset), Some(7));
    assert_eq!(got[0].1.as_ref().map(|o| o.leader_epoch), Some(0));
    assert_eq!(got[1].1.as_ref().map(|o| o.offset), Some(42));
    assert_eq!(
        got[1].1.as_ref().and_then(|o| o.metadata.clone()).as_deref(),
        Some("hello")
    );
    assert_eq!(got[2], (tp(2), None));

    // Bad input is refused without a request.
    let e = a
        .member
        .commit(vec![OffsetAndMetadata {
            tp: tp(0),
            offset: -5,
            leader_epoch: -1,
            metadata: None,
        }])
        .await
        .unwrap_err();
    assert_eq!(e.code(), "INVALID_ARGUMENT");

    a.member.close(Duration::from_secs(10)).await.unwrap();
    let e = a
        .member
        .commit(vec![OffsetAndMetadata {
            tp: tp(0),
            offset: 1,
            leader_epoch: -1,
            metadata: None,
        }])
        .await
        .unwrap_err();
    assert_eq!(e.code(), "CLIENT_CLOSED");
    // The committed offsets outlive the member.
    let again = App::start(config(&group, &[Assignor::Range]));
    let got = again.member.committed(vec![tp(0)]).await.unwrap();
    assert_eq!(got[0].1.as_ref().map(|o| o.offset), Some(42));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_revocation_handler_keeps_membership_because_heartbeats_continue() {
    let (topic, group) = topic_config("grp-slow");
    create(&topic, 6).await;
    let mut cfg = config(&group, &[Assignor::Range]);
    cfg.session_timeout = Duration::from_secs(6); // the broker's minimum
    cfg.heartbeat_interval = Duration::from_millis(500);
    cfg.rebalance_timeout = Duration::from_secs(60);
    let a = App::start(cfg.clone());
    a.member.subscribe(vec![topic.clone()]);
    wait_stable(&[&a], 6, &[6]).await;
    let member_id = a.member.metadata().member_id;
    // The app takes 10 s (longer than the session timeout) to handle a revocation.
    *a.revoke_delay.lock().unwrap() = Duration::from_secs(10);
    let b = App::start(cfg);
    b.member.subscribe(vec![topic.clone()]);
    let t = Instant::now();
    wait_stable(&[&a, &b], 6, &[3, 3]).await;
    assert!(
        t.elapsed() >= Duration::from_secs(9),
        "the revocation was not waited for"
    );
    assert!(a.lost_or_fatal().is_empty(), "{:?}", a.events());
    assert!(b.lost_or_fatal().is_empty(), "{:?}", b.events());
    // Same member all along: membership was never lost.
    assert_eq!(a.member.metadata().member_id, member_id);
    assert!(a
        .events()
        .iter()
        .any(|e| matches!(e, Ev::RevokeDone(_, p) if p.len() == 6)));
    *a.revoke_delay.lock().unwrap() = Duration::ZERO;
    a.member.close(Duration::from_secs(10)).await.unwrap();
    b.member.close(Duration::from_secs(10)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_static_member_restarting_within_the_session_timeout_keeps_its_partitions() {
    let (topic, group) = topic_config("grp-static");
    create(&topic, 6).await;
    let id = |name: &str| format!("{name}-{}", std::process::id());
    let static_cfg = |name: &str| {
        let mut c = config(&group, &[Assignor::Range]);
        c.group_instance_id = Some(id(name));
        c.session_timeout = Duration::from_secs(30);
        c
    };
    let a = App::start(static_cfg("a"));
    let b = App::start(static_cfg("b"));
    a.member.subscribe(vec![topic.clone()]);
    b.member.subscribe(vec![topic.clone()]);
    wait_stable(&[&a, &b], 6, &[3, 3]).await;
    // Static members sort by instance id: "a-*" gets the first range.
    assert_eq!(a.parts(), vec![0, 1, 2]);
    assert_eq!(b.parts(), vec![3, 4, 5]);
    let generation = b.member.metadata().generation_id;
    let b_events = b.events().len();

    a.member.close(Duration::from_secs(10)).await.unwrap();
    let a2 = App::start(static_cfg("a"));
    a2.member.subscribe(vec![topic.clone()]);
    wait_until(
        "the restarted member has its partitions",
        Duration::from_secs(30),
        || !a2.parts().is_empty(),
    )
    .await;
    assert_eq!(a2.parts(), vec![0, 1, 2]);
    // No rebalance: same generation everywhere, and b heard nothing.
    assert_eq!(a2.member.metadata().generation_id, generation);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(b.member.metadata().generation_id, generation);
    assert_eq!(b.events().len(), b_events, "{:?}", b.events());
    assert_eq!(b.parts(), vec![3, 4, 5]);
    a2.member.close(Duration::from_secs(10)).await.unwrap();
    b.member.close(Duration::from_secs(10)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cooperative_rebalance_revokes_only_what_moves() {
    let (topic, group) = topic_config("grp-coop");
    create(&topic, 6).await;
    let cfg = config(&group, &[Assignor::CooperativeSticky]);
    let a = App::start(cfg.clone());
    a.member.subscribe(vec![topic.clone()]);
    wait_stable(&[&a], 6, &[6]).await;
    let b = App::start(cfg);
    b.member.subscribe(vec![topic.clone()]);
    wait_stable(&[&a, &b], 6, &[3, 3]).await;
    let mut revoked: Vec<(u64, Vec<i32>)> = Vec::new();
    for e in a.events() {
        if let Ev::Revoked(s, p) = e {
            revoked.push((s, p.iter().map(|tp| tp.partition).collect()));
        }
    }
    let revoked: Vec<Vec<i32>> = revoked.into_iter().map(|(_, p)| p).collect();
    // One revocation, of exactly what b now owns; a kept the rest throughout.
    assert_eq!(revoked, vec![b.parts()], "{:?}", a.events());
    assert!(a.lost_or_fatal().is_empty());
    check_cooperative_handoffs(&[a, b]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_subscription_rejoins_and_empty_leaves() {
    let (topic, group) = topic_config("grp-sub");
    let other = common::unique_topic("grp-sub2");
    create(&topic, 2).await;
    create(&other, 2).await;
    let a = App::start(config(&group, &[Assignor::Range]));
    a.member.subscribe(vec![topic.clone()]);
    wait_stable(&[&a], 2, &[2]).await;
    a.member.subscribe(vec![topic.clone(), other.clone()]);
    wait_until("both topics are assigned", Duration::from_secs(30), || {
        a.member.assignment().len() == 4
    })
    .await;
    a.member.subscribe(vec![]);
    wait_until("the member left", Duration::from_secs(30), || {
        a.member.metadata().generation_id == -1 && a.member.assignment().is_empty()
    })
    .await;
    assert!(a.lost_or_fatal().is_empty(), "{:?}", a.events());
    a.member.close(Duration::from_secs(10)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_instance_with_the_same_group_instance_id_fences_the_first() {
    let (topic, group) = topic_config("grp-fence");
    create(&topic, 2).await;
    let mut cfg = config(&group, &[Assignor::Range]);
    cfg.group_instance_id = Some(format!("fenced-{}", std::process::id()));
    let a = App::start(cfg.clone());
    a.member.subscribe(vec![topic.clone()]);
    wait_stable(&[&a], 2, &[2]).await;
    let a2 = App::start(cfg);
    a2.member.subscribe(vec![topic.clone()]);
    wait_until("the first instance is fenced", Duration::from_secs(30), || {
        a.events().iter().any(|e| matches!(e, Ev::Fatal(..)))
    })
    .await;
    let bad = a.lost_or_fatal();
    assert!(bad[0].contains("lost"), "{bad:?}");
    assert!(bad[1].contains("FENCED_INSTANCE_ID"), "{bad:?}");
    assert!(a.member.assignment().is_empty());
    let e = a
        .member
        .commit(vec![OffsetAndMetadata {
            tp: TopicPartition::new(topic.as_str(), 0),
            offset: 1,
            leader_epoch: -1,
            metadata: None,
        }])
        .await
        .unwrap_err();
    assert_eq!(e.code(), "FENCED_INSTANCE_ID");
    a.member.close(Duration::from_secs(5)).await.unwrap();
    wait_stable(&[&a2], 2, &[2]).await;
    a2.member.close(Duration::from_secs(10)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_without_a_common_assignor_fails_fatally() {
    let (topic, group) = topic_config("grp-proto");
    create(&topic, 2).await;
    let a = App::start(config(&group, &[Assignor::Range]));
    a.member.subscribe(vec![topic.clone()]);
    wait_stable(&[&a], 2, &[2]).await;
    let seen = a.events().len();
    let b = App::start(config(&group, &[Assignor::RoundRobin]));
    b.member.subscribe(vec![topic.clone()]);
    wait_until("the member fails", Duration::from_secs(30), || {
        !b.lost_or_fatal().is_empty()
    })
    .await;
    assert!(
        b.lost_or_fatal()[0].contains("INCONSISTENT_GROUP_PROTOCOL"),
        "{:?}",
        b.events()
    );
    assert_eq!(b.member.last_error(), None);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(a.events().len(), seen, "the group was disturbed: {:?}", a.events());
    b.member.close(Duration::from_secs(5)).await.unwrap();
    a.member.close(Duration::from_secs(10)).await.unwrap();
}

/// Grows `topic` to `count` partitions (returns once each has a leader).
async fn add_partitions(topic: &str, count: i32) {
    use nkafka_client::admin::{Admin, CreatePartitionsOptions, NewPartitions};
    let admin = Admin::new(common::client_config()).unwrap();
    let r = admin
        .create_partitions(
            &[NewPartitions {
                topic: topic.to_string(),
                count,
                assignments: None,
            }],
            &CreatePartitionsOptions::default(),
        )
        .await
        .unwrap();
    assert!(r[0].error.is_none(), "{:?}", r[0].error);
    admin.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_rejoins_when_partitions_are_added_or_a_topic_appears() {
    let (topic, group) = topic_config("grp-grow");
    let later = common::unique_topic("grp-later");
    create(&topic, 2).await;
    let mut client = common::client_config();
    client.metadata_max_age = Duration::from_secs(1);
    let a = App::start_with(config(&group, &[Assignor::Range]), client);
    a.member.subscribe(vec![topic.clone(), later.clone()]);
    wait_stable(&[&a], 2, &[2]).await;
    let generation = a.member.metadata().generation_id;
    add_partitions(&topic, 4).await;
    wait_stable(&[&a], 4, &[4]).await;
    assert!(a.member.metadata().generation_id > generation);
    create(&later, 2).await;
    wait_until("the new topic is assigned", Duration::from_secs(30), || {
        a.member.assignment().len() == 6
    })
    .await;
    assert!(a.lost_or_fatal().is_empty(), "{:?}", a.events());
    a.member.close(Duration::from_secs(10)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_member_without_close_still_leaves_the_group() {
    let (topic, group) = topic_config("grp-drop");
    create(&topic, 4).await;
    let a = App::start(config(&group, &[Assignor::Range]));
    let b = App::start(config(&group, &[Assignor::Range]));
    a.member.subscribe(vec![topic.clone()]);
    b.member.subscribe(vec![topic.clone()]);
    wait_stable(&[&a, &b], 4, &[2, 2]).await;
    let t = Instant::now();
    drop(b);
    wait_stable(&[&a], 4, &[4]).await;
    assert!(
        t.elapsed() < Duration::from_secs(9),
        "waited for the session timeout: {:?}",
        t.elapsed()
    );
    a.member.close(Duration::from_secs(10)).await.unwrap();
}
