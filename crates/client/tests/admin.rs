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
async fn an_unknown_group_is_still_found_missing() {
    let group = common::unique_topic("adm-rt-none");
    let admin = Admin::new(common::client_config()).unwrap();
    let d = admin.describe_groups(&describe_args(&group)).await.unwrap();
    let e = d[0].error.as_ref().expect("an unknown group is an error");
    assert_eq!(e.code(), "GROUP_ID_NOT_FOUND");
    admin.close();
}
