//! Admin round trips against the real broker, counted with `Admin::requests_sent` (the
//! calls' results are tested in __test__/admin-*.test.ts).

mod common;

use nkafka_client::admin::groups::{
    AlterConsumerGroupOffsetsArgs, DescribeGroupsArgs, ListGroupsOptions, OffsetToCommit,
};
use nkafka_client::admin::Admin;

/// A classic group with a committed offset and no members (made by an admin commit).
async fn classic_group(admin: &Admin, topic: &str, group: &str) {
    let r = admin
        .alter_consumer_group_offsets(&AlterConsumerGroupOffsetsArgs {
            group_id: group.to_string(),
            offsets: vec![OffsetToCommit {
                topic: topic.to_string(),
                partition: 0,
                offset: 0,
                leader_epoch: None,
                metadata: None,
            }],
        })
        .await
        .unwrap();
    assert!(r[0].error.is_none(), "{:?}", r[0].error);
}

fn describe_args(group: &str) -> DescribeGroupsArgs {
    DescribeGroupsArgs {
        group_ids: vec![group.to_string()],
        include_authorized_operations: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describing_a_known_classic_group_is_one_request() {
    let topic = common::unique_topic("adm-rt");
    let group = common::unique_topic("adm-rt-grp");
    common::create_topic(&topic, 1).await;
    let setup = Admin::new(common::client_config()).unwrap();
    classic_group(&setup, &topic, &group).await;
    setup.close();

    // A fresh client, its coordinator found and connected by a first describe: that one
    // learns the type the slow way (ConsumerGroupDescribe says GROUP_ID_NOT_FOUND, then
    // DescribeGroups: 2 requests after FindCoordinator).
    let admin = Admin::new(common::client_config()).unwrap();
    let first = admin.describe_groups(&describe_args(&group)).await.unwrap();
    assert!(first[0].error.is_none(), "{:?}", first[0].error);
    assert_eq!(first[0].group_type, "classic");
    // Now the type is known: DescribeGroups alone.
    let before = admin.requests_sent();
    let again = admin.describe_groups(&describe_args(&group)).await.unwrap();
    assert_eq!(admin.requests_sent() - before, 1);
    assert!(again[0].error.is_none(), "{:?}", again[0].error);
    assert_eq!(
        (again[0].group_type.as_str(), again[0].state.as_str()),
        ("classic", "Empty")
    );
    admin.close();

    // A client that listed the groups knows the type too: FindCoordinator + DescribeGroups.
    let admin = Admin::new(common::client_config()).unwrap();
    let listed = admin.list_groups(&ListGroupsOptions::default()).await.unwrap();
    assert!(listed
        .groups
        .iter()
        .any(|g| g.group_id == group && g.group_type == "classic"));
    let before = admin.requests_sent();
    let d = admin.describe_groups(&describe_args(&group)).await.unwrap();
    assert_eq!(admin.requests_sent() - before, 2);
    assert_eq!(d[0].group_type, "classic");
    admin.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_groups_on_one_coordinator_are_one_request_per_group_type() {
    let topic = common::unique_topic("adm-batch");
    common::create_topic(&topic, 1).await;
    let groups: Vec<String> = (0..3)
        .map(|i| common::unique_topic(&format!("adm-batch-{i}")))
        .collect();
    let setup = Admin::new(common::client_config()).unwrap();
    for g in &groups {
        classic_group(&setup, &topic, g).await;
    }
    setup.close();
    let missing = common::unique_topic("adm-batch-none");
    let mut ids = groups.clone();
    ids.insert(1, missing.clone());
    ids.push(groups[0].clone());
    let args = DescribeGroupsArgs {
        group_ids: ids.clone(),
        include_authorized_operations: false,
    };

    // Types unknown: FindCoordinator per group (4), one ConsumerGroupDescribe for the
    // four, one DescribeGroups for the four (all GROUP_ID_NOT_FOUND in the first).
    let admin = Admin::new(common::client_config()).unwrap();
    // Warm up: the coordinator's connection (and its ApiVersions), by another group.
    let other = common::unique_topic("adm-batch-warm");
    admin.describe_groups(&describe_args(&other)).await.unwrap();
    let before = admin.requests_sent();
    let d = admin.describe_groups(&args).await.unwrap();
    assert_eq!(admin.requests_sent() - before, 4 + 2);
    assert_eq!(d.iter().map(|g| g.group_id.clone()).collect::<Vec<_>>(), ids);
    for (i, g) in d.iter().enumerate() {
        if i == 1 {
            assert_eq!(g.error.as_ref().map(|e| e.code()), Some("GROUP_ID_NOT_FOUND"));
        } else {
            assert!(g.error.is_none(), "{:?}", g.error);
            assert_eq!((g.group_type.as_str(), g.state.as_str()), ("classic", "Empty"));
        }
    }
    // Now the three are known classic groups with known coordinators: the unknown one
    // (no type learned) gets its ConsumerGroupDescribe again, then one DescribeGroups
    // for the four.
    let before = admin.requests_sent();
    let again = admin.describe_groups(&args).await.unwrap();
    assert_eq!(admin.requests_sent() - before, 2);
    assert_eq!(
        again
            .iter()
            .map(|g| g.error.as_ref().map(|e| e.code()))
            .collect::<Vec<_>>(),
        [None, Some("GROUP_ID_NOT_FOUND"), None, None, None]
    );
    let known = DescribeGroupsArgs {
        group_ids: groups.clone(),
        include_authorized_operations: false,
    };
    let before = admin.requests_sent();
    let d = admin.describe_groups(&known).await.unwrap();
    assert_eq!(admin.requests_sent() - before, 1);
    assert!(d.iter().all(|g| g.error.is_none() && g.group_type == "classic"));
    admin.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_group_is_still_found_missing() {
    let group = common::unique_topic("adm-rt-none");
    let admin = Admin::new(common::client_config()).unwrap();
    let d = admin.describe_groups(&describe_args(&group)).await.unwrap();
    let e = d[0].error.as_ref().expect("an unknown group is an error");
    assert_eq!(e.code(), "GROUP_ID_NOT_FOUND");
    admin.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_topics_pages_through_describe_topic_partitions() {
    use nkafka_client::admin::DescribeTopicsOptions;
    let a = common::unique_topic("adm-pages-a");
    let b = common::unique_topic("adm-pages-b");
    common::create_topic(&a, 5).await;
    common::create_topic(&b, 3).await;
    let admin = Admin::new(common::client_config()).unwrap();
    let paged = DescribeTopicsOptions {
        include_authorized_operations: false,
        partition_size_limit_per_response: Some(2),
    };
    // Warm up: the connection and its ApiVersions.
    admin.describe_topics(std::slice::from_ref(&a), &paged).await.unwrap();

    // 5 partitions, 2 per response: 3 pages.
    let before = admin.requests_sent();
    let d = admin.describe_topics(std::slice::from_ref(&a), &paged).await.unwrap();
    assert_eq!(admin.requests_sent() - before, 3);
    assert!(d[0].error.is_none(), "{:?}", d[0].error);
    assert_eq!(
        d[0].partitions.iter().map(|p| p.partition).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4]
    );
    assert!(d[0].partitions.iter().all(|p| p.leader >= 0 && p.replicas.len() == 1));

    // Two topics and an unknown one, in the caller's order; 8 partitions, so at least 4
    // pages (the broker may also end a page where a topic ends).
    let missing = common::unique_topic("adm-pages-none");
    let before = admin.requests_sent();
    let d = admin
        .describe_topics(&[b.clone(), missing.clone(), a.clone()], &paged)
        .await
        .unwrap();
    let pages = admin.requests_sent() - before;
    assert!((4..=6).contains(&pages), "{pages} pages");
    assert_eq!(
        d.iter()
            .map(|t| (t.topic.clone(), t.partitions.len()))
            .collect::<Vec<_>>(),
        [(b.clone(), 3), (missing.clone(), 0), (a.clone(), 5)]
    );
    assert_eq!(
        d[1].error.as_ref().map(|e| e.code()),
        Some("UNKNOWN_TOPIC_OR_PARTITION")
    );
    assert!(d[0].error.is_none() && d[2].error.is_none());
    assert!(d[0].topic_id.is_some());

    // The default page holds both topics: one request.
    let before = admin.requests_sent();
    let d = admin
        .describe_topics(&[a.clone(), b.clone()], &DescribeTopicsOptions::default())
        .await
        .unwrap();
    assert_eq!(admin.requests_sent() - before, 1);
    assert_eq!(d.iter().map(|t| t.partitions.len()).collect::<Vec<_>>(), [5, 3]);

    let bad = DescribeTopicsOptions {
        include_authorized_operations: false,
        partition_size_limit_per_response: Some(0),
    };
    let e = admin.describe_topics(std::slice::from_ref(&a), &bad).await.unwrap_err();
    assert_eq!(e.code(), "INVALID_ARGUMENT");
    assert!(e.message.contains("partitionSizeLimitPerResponse"), "{}", e.message);
    admin.close();
}
