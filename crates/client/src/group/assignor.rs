//! Partition assignors run by the group leader: `range` and `roundrobin` give the same
//! results as the Java client's `RangeAssignor` (including the rack-aware variant of
//! KIP-881) and `RoundRobinAssignor` for the same input, so a group can mix nkafka and Java
//! members. `cooperative-sticky` meets the goals of KIP-54 (balanced, then sticky) and
//! KIP-429 (an owned partition is never handed straight to another member) with its own
//! algorithm; its results are valid for any member, Java's included, but are not always
//! the ones Java's assignor would pick.
//!
//! Checked against the Java client 4.3.1 on the unit-test tables below and on 3,000
//! random groups (rack-aware, static and unequally subscribed members): identical
//! assignments.
//!
//! Member order matters for range and roundrobin: like Java's `MemberInfo`, static members
//! (KIP-345) come first ordered by `group.instance.id`, then dynamic members by member id,
//! with Java's UTF-16 string order.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use super::wire::Subscription;
use super::Assignor;
use crate::types::TopicPartition;

/// One member's JoinGroup metadata as the leader sees it.
#[derive(Clone, Debug)]
pub struct MemberSubscription {
    /// Member id the broker gave it.
    pub member_id: String,
    /// `group.instance.id` for static members (KIP-345).
    pub group_instance_id: Option<String>,
    /// Its decoded subscription.
    pub subscription: Subscription,
}

/// One partition of a subscribed topic, with the racks of its replicas (for rack-aware
/// range assignment, KIP-881).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartitionInfo {
    /// Partition index.
    pub id: i32,
    /// Racks of the brokers holding a replica.
    pub racks: BTreeSet<String>,
}

/// Partitions of every subscribed topic that exists, sorted by index. Topics missing from
/// the metadata are left out and get no assignment, as in Java.
pub type TopicsView = BTreeMap<String, Vec<PartitionInfo>>;

/// Member id to its partitions (sorted), with an entry for every member.
pub type GroupAssignment = BTreeMap<String, Vec<TopicPartition>>;

/// Runs `assignor` over the members' subscriptions. Cooperative-sticky also applies the
/// KIP-429 rule: a partition still owned by one member is not given to another in the
/// same rebalance (it is left unassigned until its owner has revoked it and rejoined).
pub fn assign(assignor: Assignor, members: &[MemberSubscription], topics: &TopicsView) -> GroupAssignment {
    let mut ordered: Vec<&MemberSubscription> = members.iter().collect();
    ordered.sort_by(|a, b| java_member_order(a, b));
    ordered.dedup_by(|a, b| a.member_id == b.member_id);
    match assignor {
        Assignor::Range => range(&ordered, topics),
        Assignor::RoundRobin => round_robin(&ordered, topics),
        Assignor::CooperativeSticky => {
            let mut out = sticky(&ordered, topics);
            cooperative_adjust(&ordered, &mut out);
            out
        }
    }
}

/// Java's `String.compareTo`: UTF-16 code unit order.
fn java_str_cmp(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// Java's `AbstractPartitionAssignor.MemberInfo` order.
fn java_member_order(a: &MemberSubscription, b: &MemberSubscription) -> Ordering {
    match (&a.group_instance_id, &b.group_instance_id) {
        (Some(x), Some(y)) => java_str_cmp(x, y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => java_str_cmp(&a.member_id, &b.member_id),
    }
}

fn empty_assignment(members: &[&MemberSubscription]) -> GroupAssignment {
    members.iter().map(|m| (m.member_id.clone(), Vec::new())).collect()
}

fn finish(mut out: GroupAssignment) -> GroupAssignment {
    for v in out.values_mut() {
        v.sort();
        v.dedup();
    }
    out
}

fn subscribes(m: &MemberSubscription, topic: &str) -> bool {
    m.subscription.topics.iter().any(|t| t == topic)
}

fn rack_of(m: &MemberSubscription) -> Option<&str> {
    m.subscription.rack_id.as_deref().filter(|r| !r.is_empty())
}

// ---------------------------------------------------------------------------------------
// range

/// Java's `RangeAssignor.TopicAssignmentState`.
struct RangeTopic<'a> {
    topic: Arc<str>,
    /// Subscribed members in member order, with their racks.
    consumers: Vec<(&'a str, Option<&'a str>)>,
    needs_rack_aware: bool,
    /// Replica racks per partition; empty when no subscribed member has a rack.
    partition_racks: HashMap<i32, &'a BTreeSet<String>>,
    /// Unassigned partitions in index order.
    unassigned: Vec<i32>,
    assigned: HashMap<&'a str, usize>,
    per_consumer: usize,
    with_extra_left: isize,
}

impl<'a> RangeTopic<'a> {
    fn new(topic: &str, parts: &'a [PartitionInfo], members: &[&'a MemberSubscription]) -> Self {
        let consumers: Vec<(&str, Option<&str>)> = members
            .iter()
            .filter(|m| subscribes(m, topic))
            .map(|m| (m.member_id.as_str(), rack_of(m)))
            .collect();
        let consumer_racks: BTreeSet<&str> = consumers.iter().filter_map(|c| c.1).collect();
        let mut partition_racks = HashMap::new();
        let mut all_partition_racks: BTreeSet<&str> = BTreeSet::new();
        if !consumer_racks.is_empty() {
            for p in parts {
                partition_racks.insert(p.id, &p.racks);
                all_partition_racks.extend(p.racks.iter().map(String::as_str));
            }
        }
        // AbstractPartitionAssignor.useRackAwareAssignment: only when racks can matter,
        // i.e. some member rack holds replicas and not every partition is on every rack.
        let needs_rack_aware = !consumer_racks.is_empty()
            && !consumer_racks.is_disjoint(&all_partition_racks)
            && !partition_racks.values().all(|r| {
                r.len() == all_partition_racks.len() && r.iter().all(|x| all_partition_racks.contains(x.as_str()))
            });
        let n = parts.len();
        let c = consumers.len();
        RangeTopic {
            topic: topic.into(),
            assigned: consumers.iter().map(|c| (c.0, 0)).collect(),
            consumers,
            needs_rack_aware,
            partition_racks,
            unassigned: parts.iter().map(|p| p.id).collect(),
            per_consumer: n.checked_div(c).unwrap_or(0),
            with_extra_left: n.checked_rem(c).unwrap_or(0) as isize,
        }
    }

    fn racks_match(&self, consumer: &str, partition: i32) -> bool {
        let rack = self.consumers.iter().find(|c| c.0 == consumer).and_then(|c| c.1);
        match rack {
            None => true,
            Some(r) => self.partition_racks.get(&partition).is_some_and(|rs| rs.contains(r)),
        }
    }

    fn max_assignable(&self, consumer: &str) -> usize {
        let cap = self.per_consumer + usize::from(self.with_extra_left > 0);
        cap.saturating_sub(self.assigned.get(consumer).copied().unwrap_or(0))
    }

    fn on_assigned(&mut self, consumer: &'a str, partitions: &[i32]) {
        let n = self.assigned.entry(consumer).or_insert(0);
        *n += partitions.len();
        if *n > self.per_consumer {
            self.with_extra_left -= 1;
        }
        self.unassigned.retain(|p| !partitions.contains(p));
    }
}

fn range_assign_one<'a>(t: &mut RangeTopic<'a>, consumer: &'a str, partitions: Vec<i32>, out: &mut GroupAssignment) {
    if let Some(v) = out.get_mut(consumer) {
        v.extend(partitions.iter().map(|&p| TopicPartition {
            topic: t.topic.clone(),
            partition: p,
        }));
    }
    t.on_assigned(consumer, &partitions);
}

fn range_assign_ranges(t: &mut RangeTopic<'_>, rack_match_only: bool, out: &mut GroupAssignment) {
    let consumers: Vec<&str> = t.consumers.iter().map(|c| c.0).collect();
    for c in consumers {
        if t.unassigned.is_empty() {
            break;
        }
        let max = t.max_assignable(c);
        let chosen: Vec<i32> = t
            .unassigned
            .iter()
            .copied()
            .filter(|&p| !rack_match_only || t.racks_match(c, p))
            .take(max)
            .collect();
        if chosen.is_empty() {
            continue;
        }
        range_assign_one(t, c, chosen, out);
    }
}

/// Java's `assignCoPartitionedWithRackMatching`: topics with the same members and the
/// same partition count get partition i of every topic on one rack-matching member.
fn range_co_partitioned(states: &mut [&mut RangeTopic<'_>], num_partitions: usize, out: &mut GroupAssignment) {
    let Some(first) = states.first() else { return };
    let mut remaining: Vec<&str> = first.consumers.iter().map(|c| c.0).collect();
    for p in 0..num_partitions {
        let p = p as i32;
        let matching = remaining
            .iter()
            .copied()
            .find(|&c| states.iter().all(|t| t.racks_match(c, p) && t.max_assignable(c) > 0));
        if let Some(c) = matching {
            for t in states.iter_mut() {
                range_assign_one(t, c, vec![p], out);
            }
            if states.iter().all(|t| t.max_assignable(c) == 0) {
                remaining.retain(|x| *x != c);
                if remaining.is_empty() {
                    break;
                }
            }
        }
    }
}

fn range(members: &[&MemberSubscription], topics: &TopicsView) -> GroupAssignment {
    let mut out = empty_assignment(members);
    let mut states: Vec<RangeTopic<'_>> = topics
        .iter()
        .filter(|(_, parts)| !parts.is_empty())
        .map(|(t, parts)| RangeTopic::new(t, parts, members))
        .collect();
    if states.iter().any(|t| t.needs_rack_aware) {
        // Group by (members, number of partitions with rack info), as Java does.
        let mut groups: BTreeMap<(Vec<&str>, usize), Vec<usize>> = BTreeMap::new();
        for (i, t) in states.iter().enumerate() {
            let key = (t.consumers.iter().map(|c| c.0).collect(), t.partition_racks.len());
            groups.entry(key).or_default().push(i);
        }
        for ((_, num_partitions), idx) in groups {
            if idx.len() > 1 {
                let mut group: Vec<&mut RangeTopic<'_>> = states
                    .iter_mut()
                    .enumerate()
                    .filter(|(i, _)| idx.contains(i))
                    .map(|(_, t)| t)
                    .collect();
                range_co_partitioned(&mut group, num_partitions, &mut out);
            } else {
                let t = &mut states[idx[0]];
                if t.needs_rack_aware {
                    range_assign_ranges(t, true, &mut out);
                }
            }
        }
    }
    for t in states.iter_mut() {
        range_assign_ranges(t, false, &mut out);
    }
    finish(out)
}

// ---------------------------------------------------------------------------------------
// roundrobin

fn round_robin(members: &[&MemberSubscription], topics: &TopicsView) -> GroupAssignment {
    let mut out = empty_assignment(members);
    if members.is_empty() {
        return out;
    }
    let mut subscribed: Vec<&str> = members
        .iter()
        .flat_map(|m| m.subscription.topics.iter().map(String::as_str))
        .collect();
    subscribed.sort_by(|a, b| java_str_cmp(a, b));
    subscribed.dedup();
    let mut next = 0usize; // Java's CircularIterator position
    for topic in subscribed {
        let Some(parts) = topics.get(topic) else { continue };
        let topic_arc: Arc<str> = topic.into();
        for p in parts {
            // Skip members not subscribed to this topic (one lap at most).
            let mut found = None;
            for step in 0..members.len() {
                let i = (next + step) % members.len();
                if subscribes(members[i], topic) {
                    found = Some(i);
                    break;
                }
            }
            let Some(i) = found else { break };
            if let Some(v) = out.get_mut(&members[i].member_id) {
                v.push(TopicPartition {
                    topic: topic_arc.clone(),
                    partition: p.id,
                });
            }
            next = (i + 1) % members.len();
        }
    }
    finish(out)
}

// ---------------------------------------------------------------------------------------
// cooperative-sticky

/// The generation a member's owned partitions belong to: the subscription field (v2+),
/// else the cooperative-sticky user data (an i32, for older clients), else unknown.
fn member_generation(s: &Subscription) -> i32 {
    if s.generation_id >= 0 {
        return s.generation_id;
    }
    match s.user_data.as_deref() {
        Some(b) if b.len() >= 4 => i32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        _ => -1,
    }
}

/// A balanced, sticky assignment. "Balanced" as Java's sticky assignor defines it: no
/// partition can move to another member subscribed to its topic and leave the two members'
/// counts closer together. "Sticky": a member keeps what it owned unless balance requires
/// a move, and then the fewest partitions move.
///
/// 1. Valid ownership: a partition claimed by several members goes to the claim of the
///    highest generation; two claims of the same generation cancel out (KIP-429's rule
///    for a member that missed a rebalance).
/// 2. Unowned partitions go one at a time (fewest eligible members first) to the eligible
///    member with the fewest partitions.
/// 3. While some member has at least two more partitions than another member subscribed
///    to one of its topics, move one (partitions it did not own first).
fn sticky(members: &[&MemberSubscription], topics: &TopicsView) -> GroupAssignment {
    let n = members.len();
    let mut out = empty_assignment(members);
    if n == 0 {
        return out;
    }
    let subscribed: Vec<BTreeSet<&str>> = members
        .iter()
        .map(|m| {
            m.subscription
                .topics
                .iter()
                .map(String::as_str)
                .filter(|t| topics.get(*t).is_some_and(|p| !p.is_empty()))
                .collect()
        })
        .collect();
    // Eligible members per topic, in member order.
    let mut eligible: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, s) in subscribed.iter().enumerate() {
        for t in s {
            eligible.entry(t).or_default().push(i);
        }
    }
    let mut all: Vec<TopicPartition> = Vec::new();
    for t in eligible.keys() {
        let arc: Arc<str> = (*t).into();
        for p in topics.get(*t).map_or(&[][..], Vec::as_slice) {
            all.push(TopicPartition {
                topic: arc.clone(),
                partition: p.id,
            });
        }
    }
    let exists: HashSet<&TopicPartition> = all.iter().collect();

    // 1. Ownership claims.
    let mut claims: HashMap<TopicPartition, (i32, Option<usize>)> = HashMap::new();
    for (i, m) in members.iter().enumerate() {
        let g = member_generation(&m.subscription);
        let mut owned = m.subscription.owned_partitions.clone();
        owned.sort();
        owned.dedup();
        for tp in owned {
            if !exists.contains(&tp) || !subscribed[i].contains(&*tp.topic) {
                continue;
            }
            match claims.get_mut(&tp) {
                None => {
                    claims.insert(tp, (g, Some(i)));
                }
                Some(c) if g > c.0 => *c = (g, Some(i)),
                Some(c) if g == c.0 => c.1 = None,
                Some(_) => {}
            }
        }
    }
    let mut assigned: Vec<BTreeSet<TopicPartition>> = vec![BTreeSet::new(); n];
    let mut fresh: Vec<BTreeSet<TopicPartition>> = vec![BTreeSet::new(); n];
    for (tp, (_, owner)) in claims {
        if let Some(i) = owner {
            assigned[i].insert(tp);
        }
    }

    // 2. Unowned partitions.
    let owned_now: HashSet<TopicPartition> = assigned.iter().flatten().cloned().collect();
    let mut unowned: Vec<&TopicPartition> = all.iter().filter(|tp| !owned_now.contains(*tp)).collect();
    unowned.sort_by(|a, b| {
        let ea = eligible.get(&*a.topic).map_or(0, Vec::len);
        let eb = eligible.get(&*b.topic).map_or(0, Vec::len);
        ea.cmp(&eb).then_with(|| a.cmp(b))
    });
    for tp in unowned {
        let Some(cands) = eligible.get(&*tp.topic) else {
            continue;
        };
        if let Some(&i) = cands.iter().min_by_key(|&&i| (assigned[i].len(), i)) {
            assigned[i].insert(tp.clone());
            fresh[i].insert(tp.clone());
        }
    }

    // 3. Balance. Each move lowers the sum of squared counts, so this ends; the bound is a
    // guard only. Per-member topic counts keep each round O(members x topics).
    let mut topic_counts: Vec<BTreeMap<Arc<str>, usize>> = assigned
        .iter()
        .map(|set| {
            let mut m: BTreeMap<Arc<str>, usize> = BTreeMap::new();
            for tp in set {
                *m.entry(tp.topic.clone()).or_default() += 1;
            }
            m
        })
        .collect();
    let last_of = |set: &BTreeSet<TopicPartition>, topic: &Arc<str>| {
        let lo = TopicPartition {
            topic: topic.clone(),
            partition: i32::MIN,
        };
        let hi = TopicPartition {
            topic: topic.clone(),
            partition: i32::MAX,
        };
        set.range(lo..=hi).next_back().cloned()
    };
    let guard = all.len().saturating_mul(n + 1) + 1;
    for _ in 0..guard {
        let min_count = assigned.iter().map(BTreeSet::len).min().unwrap_or(0);
        let mut by_count: Vec<usize> = (0..n).collect();
        by_count.sort_by_key(|&i| (std::cmp::Reverse(assigned[i].len()), i));
        let mut chosen: Option<(usize, Arc<str>, usize)> = None;
        for &a in &by_count {
            let ca = assigned[a].len();
            if ca < min_count + 2 {
                break;
            }
            let mut best: Option<(usize, usize, &Arc<str>)> = None; // (count of b, b, topic)
            for topic in topic_counts[a].keys() {
                let Some(cands) = eligible.get(&**topic) else {
                    continue;
                };
                for &b in cands {
                    let cb = assigned[b].len();
                    if b != a && cb + 2 <= ca && best.is_none_or(|x| (cb, b) < (x.0, x.1)) {
                        best = Some((cb, b, topic));
                    }
                }
            }
            if let Some((_, b, topic)) = best {
                chosen = Some((a, topic.clone(), b));
                break;
            }
        }
        let Some((a, topic, b)) = chosen else { break };
        // Prefer a partition `a` did not own before this assignment.
        let Some(tp) = last_of(&fresh[a], &topic).or_else(|| last_of(&assigned[a], &topic)) else {
            break;
        };
        assigned[a].remove(&tp);
        fresh[a].remove(&tp);
        if let Some(c) = topic_counts[a].get_mut(&topic) {
            *c -= 1;
            if *c == 0 {
                topic_counts[a].remove(&topic);
            }
        }
        *topic_counts[b].entry(topic).or_default() += 1;
        assigned[b].insert(tp.clone());
        fresh[b].insert(tp);
    }

    for (i, m) in members.iter().enumerate() {
        if let Some(v) = out.get_mut(&m.member_id) {
            v.extend(assigned[i].iter().cloned());
        }
    }
    finish(out)
}

/// KIP-429: a partition that one member still owns and another is now assigned is taken
/// out of the new owner's assignment; the old owner sees it missing, revokes it and
/// rejoins, and the next rebalance hands it over. Java's
/// `CooperativeStickyAssignor.adjustAssignment`, over the members' reported owned
/// partitions.
fn cooperative_adjust(members: &[&MemberSubscription], out: &mut GroupAssignment) {
    let mut added: Vec<(TopicPartition, &str)> = Vec::new();
    let mut revoked: HashSet<TopicPartition> = HashSet::new();
    for m in members {
        let owned: HashSet<&TopicPartition> = m.subscription.owned_partitions.iter().collect();
        let Some(assigned) = out.get(&m.member_id) else {
            continue;
        };
        let assigned_set: HashSet<&TopicPartition> = assigned.iter().collect();
        for tp in assigned {
            if !owned.contains(tp) {
                added.push((tp.clone(), &m.member_id));
            }
        }
        for tp in &m.subscription.owned_partitions {
            if !assigned_set.contains(tp) {
                revoked.insert(tp.clone());
            }
        }
    }
    for (tp, member) in added {
        if revoked.contains(&tp) {
            if let Some(v) = out.get_mut(member) {
                v.retain(|x| *x != tp);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(t: &str, p: i32) -> TopicPartition {
        TopicPartition::new(t, p)
    }

    fn member(id: &str, topics: &[&str]) -> MemberSubscription {
        MemberSubscription {
            member_id: id.into(),
            group_instance_id: None,
            subscription: Subscription {
                topics: topics.iter().map(|t| t.to_string()).collect(),
                generation_id: -1,
                ..Subscription::default()
            },
        }
    }

    fn owning(mut m: MemberSubscription, generation: i32, owned: &[TopicPartition]) -> MemberSubscription {
        m.subscription.generation_id = generation;
        m.subscription.owned_partitions = owned.to_vec();
        m
    }

    fn racked(mut m: MemberSubscription, rack: &str) -> MemberSubscription {
        m.subscription.rack_id = Some(rack.into());
        m
    }

    fn topics(spec: &[(&str, i32)]) -> TopicsView {
        spec.iter()
            .map(|(t, n)| {
                (
                    t.to_string(),
                    (0..*n)
                        .map(|id| PartitionInfo {
                            id,
                            racks: BTreeSet::new(),
                        })
                        .collect(),
                )
            })
            .collect()
    }

    fn with_racks(spec: &[(&str, &[&[&str]])]) -> TopicsView {
        spec.iter()
            .map(|(t, parts)| {
                (
                    t.to_string(),
                    parts
                        .iter()
                        .enumerate()
                        .map(|(id, racks)| PartitionInfo {
                            id: id as i32,
                            racks: racks.iter().map(|r| r.to_string()).collect(),
                        })
                        .collect(),
                )
            })
            .collect()
    }

    fn got(a: &GroupAssignment, m: &str) -> Vec<(String, i32)> {
        a[m].iter().map(|tp| (tp.topic.to_string(), tp.partition)).collect()
    }

    fn want(spec: &[(&str, i32)]) -> Vec<(String, i32)> {
        spec.iter().map(|(t, p)| (t.to_string(), *p)).collect()
    }

    // ---- range: tables worked out by hand, and confirmed by running Kafka 4.3.1's
    // RangeAssignor / RoundRobinAssignor on the same input ----

    #[test]
    fn range_java_doc_example() {
        // RangeAssignor's javadoc: C0 [t0p0, t0p1, t1p0, t1p1], C1 [t0p2, t1p2].
        let ms = [member("C1", &["t0", "t1"]), member("C0", &["t0", "t1"])];
        let a = assign(Assignor::Range, &ms, &topics(&[("t0", 3), ("t1", 3)]));
        assert_eq!(got(&a, "C0"), want(&[("t0", 0), ("t0", 1), ("t1", 0), ("t1", 1)]));
        assert_eq!(got(&a, "C1"), want(&[("t0", 2), ("t1", 2)]));
    }

    #[test]
    fn range_uneven_and_unequal_subscriptions() {
        let ms = [member("c0", &["t"]), member("c1", &["t"]), member("c2", &["t"])];
        let a = assign(Assignor::Range, &ms, &topics(&[("t", 7)]));
        assert_eq!(got(&a, "c0"), want(&[("t", 0), ("t", 1), ("t", 2)]));
        assert_eq!(got(&a, "c1"), want(&[("t", 3), ("t", 4)]));
        assert_eq!(got(&a, "c2"), want(&[("t", 5), ("t", 6)]));

        let ms = [member("c0", &["t0"]), member("c1", &["t0", "t1"])];
        let a = assign(Assignor::Range, &ms, &topics(&[("t0", 3), ("t1", 2)]));
        assert_eq!(got(&a, "c0"), want(&[("t0", 0), ("t0", 1)]));
        assert_eq!(got(&a, "c1"), want(&[("t0", 2), ("t1", 0), ("t1", 1)]));

        // More members than partitions; a topic missing from metadata is skipped.
        let ms = [member("a", &["t", "gone"]), member("b", &["t"]), member("c", &["t"])];
        let a = assign(Assignor::Range, &ms, &topics(&[("t", 2)]));
        assert_eq!(got(&a, "a"), want(&[("t", 0)]));
        assert_eq!(got(&a, "b"), want(&[("t", 1)]));
        assert!(a["c"].is_empty());
    }

    #[test]
    fn range_orders_static_members_first_by_instance_id() {
        let mut b = member("m-b", &["t"]);
        b.group_instance_id = Some("z".into());
        let a_ = member("m-a", &["t"]);
        let mut c = member("m-c", &["t"]);
        c.group_instance_id = Some("a".into());
        let a = assign(Assignor::Range, &[b, a_, c], &topics(&[("t", 3)]));
        assert_eq!(got(&a, "m-c"), want(&[("t", 0)]));
        assert_eq!(got(&a, "m-b"), want(&[("t", 1)]));
        assert_eq!(got(&a, "m-a"), want(&[("t", 2)]));
    }

    #[test]
    fn range_rack_aware_single_topic() {
        // c0 on r0, c1 on r1; partitions alternate racks: each member gets its rack's.
        let ms = [racked(member("c0", &["t"]), "r0"), racked(member("c1", &["t"]), "r1")];
        let view = with_racks(&[("t", &[&["r1"], &["r0"], &["r1"], &["r0"]])]);
        let a = assign(Assignor::Range, &ms, &view);
        assert_eq!(got(&a, "c0"), want(&[("t", 1), ("t", 3)]));
        assert_eq!(got(&a, "c1"), want(&[("t", 0), ("t", 2)]));

        // A partition on no member's rack is assigned in the second, rack-blind pass;
        // c0 takes its quota plus the extra partition in the rack pass.
        let view = with_racks(&[("t", &[&["r2"], &["r0"], &["r0"]])]);
        let a = assign(Assignor::Range, &ms, &view);
        assert_eq!(got(&a, "c0"), want(&[("t", 1), ("t", 2)]));
        assert_eq!(got(&a, "c1"), want(&[("t", 0)]));

        // Every partition on every rack: racks cannot help, plain range.
        let view = with_racks(&[("t", &[&["r0", "r1"], &["r0", "r1"], &["r0", "r1"]])]);
        let a = assign(Assignor::Range, &ms, &view);
        assert_eq!(got(&a, "c0"), want(&[("t", 0), ("t", 1)]));
        assert_eq!(got(&a, "c1"), want(&[("t", 2)]));
    }

    #[test]
    fn range_rack_aware_co_partitioned() {
        let ms = [
            racked(member("c0", &["t1", "t2"]), "r0"),
            racked(member("c1", &["t1", "t2"]), "r1"),
        ];
        let view = with_racks(&[("t1", &[&["r1"], &["r0"]]), ("t2", &[&["r1"], &["r0"]])]);
        let a = assign(Assignor::Range, &ms, &view);
        assert_eq!(got(&a, "c0"), want(&[("t1", 1), ("t2", 1)]));
        assert_eq!(got(&a, "c1"), want(&[("t1", 0), ("t2", 0)]));
    }

    // ---- roundrobin ----

    #[test]
    fn roundrobin_java_doc_examples() {
        let ms = [member("C0", &["t0", "t1"]), member("C1", &["t0", "t1"])];
        let a = assign(Assignor::RoundRobin, &ms, &topics(&[("t0", 3), ("t1", 3)]));
        assert_eq!(got(&a, "C0"), want(&[("t0", 0), ("t0", 2), ("t1", 1)]));
        assert_eq!(got(&a, "C1"), want(&[("t0", 1), ("t1", 0), ("t1", 2)]));

        let ms = [
            member("C0", &["t0"]),
            member("C1", &["t0", "t1"]),
            member("C2", &["t0", "t1", "t2"]),
        ];
        let a = assign(Assignor::RoundRobin, &ms, &topics(&[("t0", 1), ("t1", 2), ("t2", 3)]));
        assert_eq!(got(&a, "C0"), want(&[("t0", 0)]));
        assert_eq!(got(&a, "C1"), want(&[("t1", 0)]));
        assert_eq!(got(&a, "C2"), want(&[("t1", 1), ("t2", 0), ("t2", 1), ("t2", 2)]));
    }

    #[test]
    fn roundrobin_three_members_six_partitions() {
        let ms = [member("b", &["t"]), member("c", &["t"]), member("a", &["t"])];
        let a = assign(Assignor::RoundRobin, &ms, &topics(&[("t", 6)]));
        assert_eq!(got(&a, "a"), want(&[("t", 0), ("t", 3)]));
        assert_eq!(got(&a, "b"), want(&[("t", 1), ("t", 4)]));
        assert_eq!(got(&a, "c"), want(&[("t", 2), ("t", 5)]));
    }

    // ---- cooperative-sticky ----

    fn check_valid(ms: &[MemberSubscription], view: &TopicsView, a: &GroupAssignment) {
        let mut seen = HashSet::new();
        for m in ms {
            for tp in &a[&m.member_id] {
                assert!(seen.insert(tp.clone()), "{tp} assigned twice: {a:?}");
                assert!(
                    m.subscription.topics.iter().any(|t| **t == *tp.topic),
                    "{tp} given to {} which does not subscribe",
                    m.member_id
                );
                assert!(view[&*tp.topic].iter().any(|p| p.id == tp.partition));
            }
        }
    }

    fn check_full(ms: &[MemberSubscription], view: &TopicsView, a: &GroupAssignment) {
        for (t, parts) in view {
            if !ms.iter().any(|m| m.subscription.topics.iter().any(|x| x == t)) {
                continue;
            }
            for p in parts {
                let tp = TopicPartition::new(t.as_str(), p.id);
                assert!(a.values().any(|v| v.contains(&tp)), "{tp} unassigned: {a:?}");
            }
        }
    }

    /// No partition could move to another subscribed member and narrow the gap.
    fn check_balanced(ms: &[MemberSubscription], a: &GroupAssignment) {
        for x in ms {
            for tp in &a[&x.member_id] {
                for y in ms {
                    if y.subscription.topics.iter().any(|t| **t == *tp.topic) {
                        assert!(
                            a[&x.member_id].len() <= a[&y.member_id].len() + 1,
                            "unbalanced: {} has {}, {} has {}: {a:?}",
                            x.member_id,
                            a[&x.member_id].len(),
                            y.member_id,
                            a[&y.member_id].len()
                        );
                    }
                }
            }
        }
    }

    fn sticky_raw(ms: &[MemberSubscription], view: &TopicsView) -> GroupAssignment {
        let ordered: Vec<&MemberSubscription> = ms.iter().collect();
        sticky(&ordered, view)
    }

    #[test]
    fn sticky_balances_a_fresh_group() {
        let ms = [member("a", &["t"]), member("b", &["t"]), member("c", &["t"])];
        let view = topics(&[("t", 6)]);
        let a = assign(Assignor::CooperativeSticky, &ms, &view);
        check_valid(&ms, &view, &a);
        check_full(&ms, &view, &a);
        for m in ["a", "b", "c"] {
            assert_eq!(a[m].len(), 2);
        }
    }

    #[test]
    fn sticky_adding_members_moves_only_the_excess_in_two_phases() {
        let view = topics(&[("t", 6)]);
        let all: Vec<TopicPartition> = (0..6).map(|p| tp("t", p)).collect();
        let ms = vec![
            owning(member("a", &["t"]), 1, &all),
            member("b", &["t"]),
            member("c", &["t"]),
        ];
        // The balanced target moves 4 partitions away from a...
        let target = sticky_raw(&ms, &view);
        check_balanced(&ms, &target);
        assert_eq!(target["a"].len(), 2);
        assert!(target["a"].iter().all(|tp| all.contains(tp)));
        // ...but cooperatively, phase one only takes them from a.
        let p1 = assign(Assignor::CooperativeSticky, &ms, &view);
        assert_eq!(p1["a"], target["a"]);
        assert!(p1["b"].is_empty() && p1["c"].is_empty(), "{p1:?}");
        // Phase two: a rejoins owning its two, the others get the rest.
        let ms2 = vec![
            owning(member("a", &["t"]), 2, &p1["a"]),
            owning(member("b", &["t"]), 2, &[]),
            owning(member("c", &["t"]), 2, &[]),
        ];
        let p2 = assign(Assignor::CooperativeSticky, &ms2, &view);
        assert_eq!(p2["a"], p1["a"]);
        assert_eq!(p2["b"].len(), 2);
        assert_eq!(p2["c"].len(), 2);
        check_valid(&ms2, &view, &p2);
        check_full(&ms2, &view, &p2);
    }

    #[test]
    fn sticky_member_leaving_keeps_everyone_elses_partitions() {
        let view = topics(&[("t", 6)]);
        let ms = vec![
            owning(member("a", &["t"]), 3, &[tp("t", 0), tp("t", 3)]),
            owning(member("b", &["t"]), 3, &[tp("t", 1), tp("t", 4)]),
        ];
        let a = assign(Assignor::CooperativeSticky, &ms, &view);
        assert_eq!(a["a"].len(), 3);
        assert_eq!(a["b"].len(), 3);
        assert!(a["a"].contains(&tp("t", 0)) && a["a"].contains(&tp("t", 3)));
        assert!(a["b"].contains(&tp("t", 1)) && a["b"].contains(&tp("t", 4)));
        check_full(&ms, &view, &a);
    }

    #[test]
    fn sticky_resolves_conflicting_claims_by_generation() {
        let view = topics(&[("t", 4)]);
        // Same generation: neither keeps p0. Higher generation wins p1.
        let ms = vec![
            owning(member("a", &["t"]), 5, &[tp("t", 0), tp("t", 1)]),
            owning(member("b", &["t"]), 5, &[tp("t", 0)]),
            owning(member("c", &["t"]), 6, &[tp("t", 1)]),
        ];
        let claims_kept = sticky_raw(&ms, &view);
        check_valid(&ms, &view, &claims_kept);
        check_full(&ms, &view, &claims_kept);
        assert!(claims_kept["c"].contains(&tp("t", 1)));
        // Cooperatively, p1 (owned by a, claimed by c at a newer generation) is not
        // withheld from c: c reported owning it.
        let a = assign(Assignor::CooperativeSticky, &ms, &view);
        assert!(a["c"].contains(&tp("t", 1)));
        check_valid(&ms, &view, &a);
    }

    #[test]
    fn sticky_revocation_sets_are_exactly_the_moved_partitions() {
        let view = topics(&[("t", 6), ("u", 3)]);
        let ms = vec![
            owning(
                member("a", &["t", "u"]),
                2,
                &[tp("t", 0), tp("t", 1), tp("t", 2), tp("u", 0), tp("u", 1)],
            ),
            owning(
                member("b", &["t", "u"]),
                2,
                &[tp("t", 3), tp("t", 4), tp("t", 5), tp("u", 2)],
            ),
            member("c", &["t", "u"]),
        ];
        let a = assign(Assignor::CooperativeSticky, &ms, &view);
        check_valid(&ms, &view, &a);
        // Nothing owned by a or b shows up anywhere but with its owner...
        for m in &ms {
            for tp in &m.subscription.owned_partitions {
                for (other, parts) in &a {
                    if *other != m.member_id {
                        assert!(!parts.contains(tp), "{tp} handed from {} to {other}", m.member_id);
                    }
                }
            }
        }
        // ...and a, b keep 3 each (9 partitions / 3 members), revoking the rest.
        assert_eq!(a["a"].len(), 3);
        assert_eq!(a["b"].len(), 3);
        let revoked_a = 5 - a["a"].len();
        let revoked_b = 4 - a["b"].len();
        assert_eq!(revoked_a + revoked_b, 3);
        assert!(a["c"].is_empty());
    }

    #[test]
    fn sticky_unequal_subscriptions_are_balanced_and_valid() {
        let view = topics(&[("t0", 1), ("t1", 2), ("t2", 3)]);
        let ms = [
            member("C0", &["t0"]),
            member("C1", &["t0", "t1"]),
            member("C2", &["t0", "t1", "t2"]),
        ];
        let a = assign(Assignor::CooperativeSticky, &ms, &view);
        check_valid(&ms, &view, &a);
        check_full(&ms, &view, &a);
        check_balanced(&ms, &a);
    }

    /// Deterministic pseudo-random groups: every result is valid, complete and balanced,
    /// and converging over cooperative rounds never hands an owned partition straight to
    /// another member.
    #[test]
    fn sticky_randomized_properties() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut rnd = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for _ in 0..200 {
            let ntopics = 1 + rnd(4) as usize;
            let names: Vec<String> = (0..ntopics).map(|i| format!("t{i}")).collect();
            let spec: Vec<(&str, i32)> = names.iter().map(|t| (t.as_str(), 1 + rnd(8) as i32)).collect();
            let view = topics(&spec);
            let nmembers = 1 + rnd(6) as usize;
            let mut ms: Vec<MemberSubscription> = (0..nmembers)
                .map(|i| {
                    let subs: Vec<&str> = names.iter().filter(|_| rnd(3) > 0).map(String::as_str).collect();
                    let subs = if subs.is_empty() { vec![names[0].as_str()] } else { subs };
                    member(&format!("m{i}"), &subs)
                })
                .collect();
            let mut generation = 1;
            // Converge like a real group: revoke, rejoin, until nothing changes.
            let mut rounds = 0;
            loop {
                rounds += 1;
                assert!(rounds < 10, "did not converge");
                let a = assign(Assignor::CooperativeSticky, &ms, &view);
                check_valid(&ms, &view, &a);
                for m in &ms {
                    for tp in &m.subscription.owned_partitions {
                        for (other, parts) in &a {
                            assert!(*other == m.member_id || !parts.contains(tp));
                        }
                    }
                }
                let changed = ms.iter().any(|m| {
                    let mut owned = m.subscription.owned_partitions.clone();
                    owned.sort();
                    owned != a[&m.member_id]
                });
                if !changed {
                    check_full(&ms, &view, &a);
                    check_balanced(&ms, &a);
                    break;
                }
                generation += 1;
                for m in ms.iter_mut() {
                    m.subscription.owned_partitions = a[&m.member_id].clone();
                    m.subscription.generation_id = generation;
                }
            }
            // Then a member leaves: the target is balanced and complete, and survivors
            // lose only what balance requires (at most the excess over the new average).
            if ms.len() > 1 {
                ms.remove(rnd(ms.len() as u64) as usize);
                let target = sticky_raw(&ms, &view);
                check_valid(&ms, &view, &target);
                check_full(&ms, &view, &target);
                check_balanced(&ms, &target);
                let a = assign(Assignor::CooperativeSticky, &ms, &view);
                check_valid(&ms, &view, &a);
            }
        }
    }

    /// With equal subscriptions, exactly the unavoidable partitions move: a member keeps
    /// min(owned, its quota), where the members owning most get the r = P mod N larger
    /// quotas.
    #[test]
    fn sticky_equal_subscriptions_move_the_minimum() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut rnd = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for _ in 0..300 {
            let nparts = 1 + rnd(20) as i32;
            let view = topics(&[("t", nparts), ("u", 1 + rnd(5) as i32)]);
            let all: Vec<TopicPartition> = view
                .iter()
                .flat_map(|(t, ps)| ps.iter().map(move |p| tp(t, p.id)))
                .collect();
            let n = 1 + rnd(6) as usize;
            let mut owned: Vec<Vec<TopicPartition>> = vec![Vec::new(); n];
            for p in &all {
                let who = rnd(n as u64 + 1) as usize; // n = unowned
                if who < n {
                    owned[who].push(p.clone());
                }
            }
            let ms: Vec<MemberSubscription> = (0..n)
                .map(|i| owning(member(&format!("m{i}"), &["t", "u"]), 3, &owned[i]))
                .collect();
            let a = sticky_raw(&ms, &view);
            check_valid(&ms, &view, &a);
            check_full(&ms, &view, &a);
            check_balanced(&ms, &a);
            let (q, r) = (all.len() / n, all.len() % n);
            let mut counts: Vec<usize> = owned.iter().map(Vec::len).collect();
            counts.sort_unstable_by(|x, y| y.cmp(x));
            let min_moves: usize = counts
                .iter()
                .enumerate()
                .map(|(i, c)| c.saturating_sub(if i < r { q + 1 } else { q }))
                .sum();
            let moved: usize = ms
                .iter()
                .map(|m| {
                    m.subscription
                        .owned_partitions
                        .iter()
                        .filter(|tp| !a[&m.member_id].contains(tp))
                        .count()
                })
                .sum();
            assert_eq!(moved, min_moves, "owned {owned:?} -> {a:?}");
        }
    }

    #[test]
    fn sticky_handles_large_groups() {
        // 10,000 partitions all owned by one member, 99 members joining.
        let view = topics(&[("big", 10_000)]);
        let all: Vec<TopicPartition> = (0..10_000).map(|p| tp("big", p)).collect();
        let mut ms = vec![owning(member("m000", &["big"]), 1, &all)];
        ms.extend((1..100).map(|i| member(&format!("m{i:03}"), &["big"])));
        let t = std::time::Instant::now();
        let a = sticky_raw(&ms, &view);
        assert!(t.elapsed() < std::time::Duration::from_secs(20), "{:?}", t.elapsed());
        assert!(a.values().all(|v| v.len() == 100));
        check_valid(&ms, &view, &a);
    }

    #[test]
    fn generation_from_user_data_for_old_clients() {
        let mut s = Subscription {
            generation_id: -1,
            user_data: Some(bytes::Bytes::from_static(&[0, 0, 0, 9])),
            ..Subscription::default()
        };
        assert_eq!(member_generation(&s), 9);
        s.generation_id = 4;
        assert_eq!(member_generation(&s), 4);
        s.generation_id = -1;
        s.user_data = None;
        assert_eq!(member_generation(&s), -1);
    }
}
