//! Reads a topic partition from the start and prints the rate: the consumer's fetch path
//! without JS. `cargo run --release -p nkafka-client --example consume -- <brokers> <topic> [n] [partitions]`

use std::time::{Duration, Instant};

use nkafka_client::config::{parse_bootstrap, ClientConfig, ConsumerConfig, OffsetReset};
use nkafka_client::consumer::Consumer;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (brokers, topic) = (&args[1], &args[2]);
    let n: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let partitions: i32 = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(1);
    let mut cfg = ConsumerConfig::new(ClientConfig::new(
        parse_bootstrap(std::slice::from_ref(brokers)).unwrap(),
    ));
    cfg.auto_offset_reset = OffsetReset::Earliest;
    let c = Consumer::new(cfg).unwrap();
    c.assign((0..partitions).map(|p| (topic.clone(), p, None)).collect())
        .unwrap();
    let t0 = Instant::now();
    let mut got = 0;
    let mut polls = 0;
    while got < n {
        if !c.wait_for_data(Duration::from_secs(5)).await {
            break;
        }
        for b in c.poll(5000).batches {
            got += b.records.len();
        }
        polls += 1;
    }
    let s = t0.elapsed().as_secs_f64();
    println!("{got} records in {s:.2} s: {:.0}/s, {polls} polls", got as f64 / s);
}
