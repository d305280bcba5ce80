//! Writes the seed corpus of the `response` fuzz target: one valid response per API,
//! version and sample shape (`cargo run -p nkafka-protocol --example fuzz_seeds`).
use std::path::PathBuf;

#[path = "../tests/samples/responses.rs"]
mod responses;

fn main() -> std::io::Result<()> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/response");
    std::fs::create_dir_all(&dir)?;
    let mut n = 0;
    for &(api, min, max) in responses::APIS {
        for version in min..=max {
            for (i, body) in responses::samples(api, version).iter().enumerate() {
                let path = dir.join(format!("{api:?}-v{version}-{i}"));
                std::fs::write(path, responses::fuzz_input(api, version, body))?;
                n += 1;
            }
        }
    }
    println!("wrote {n} seeds to {}", dir.display());
    Ok(())
}
