//! Writes the seed corpus to `fuzz/seeds/<target>/<name>`: `cargo run --release --example seeds`.

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    for (target, seeds) in [
        ("parse", synwall_fuzz::seeds::parse()),
        ("engine", synwall_fuzz::seeds::engine()),
        ("config", synwall_fuzz::seeds::config()),
    ] {
        let sub = dir.join(target);
        std::fs::create_dir_all(&sub).expect("create the seed folder");
        for (name, data) in seeds {
            std::fs::write(sub.join(name), data).expect("write a seed");
        }
    }
}
