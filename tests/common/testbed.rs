//! Running a script in the QEMU test bed (tools/testbed) from an integration test: staging the
//! scripts and the `rsmbd` binary where the guest can see them, booting, collecting output.
//! Every test-bed test needs root (QEMU, apt-get, module builds cached in
//! /var/cache/rsmbd-testbed); it fails, never skips, when the guest cannot boot.
use std::path::{Path, PathBuf};
use std::process::Command;

/// A staged copy of tools/ and the binary under the bed's cache (the guest cannot see the host's
/// /tmp or /run, where a checkout may live); removed on drop.
pub struct Stage {
    pub dir: PathBuf,
}

impl Drop for Stage {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Stage {
    /// Stages tools/ and the rsmbd binary, and makes sure the bed is set up.
    pub fn new(tag: &str) -> Stage {
        // SAFETY: geteuid has no preconditions.
        assert_eq!(
            unsafe { libc::geteuid() },
            0,
            "the test bed needs root (QEMU, apt-get); run the tests as root as CI does"
        );
        let cache =
            std::env::var("TESTBED_CACHE").unwrap_or_else(|_| "/var/cache/rsmbd-testbed".into());
        let dir = Path::new(&cache).join(format!("stage-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("target/release"))
            .expect("create the staging directory (root needed)");
        let stage = Stage { dir };
        let repo = env!("CARGO_MANIFEST_DIR");
        let ok = Command::new("cp")
            .args(["-a", &format!("{repo}/tools"), stage.dir.to_str().unwrap()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "copying tools/ to {}", stage.dir.display());
        std::fs::copy(
            env!("CARGO_BIN_EXE_rsmbd"),
            stage.dir.join("target/release/rsmbd"),
        )
        .unwrap();
        let setup = Command::new(stage.bed().join("setup.sh"))
            .status()
            .expect("run tools/testbed/setup.sh");
        assert!(
            setup.success(),
            "tools/testbed/setup.sh failed: the guest cannot be built"
        );
        stage
    }

    /// The staged tools/testbed directory.
    pub fn bed(&self) -> PathBuf {
        self.dir.join("tools/testbed")
    }

    /// The staged rsmbd binary.
    pub fn rsmbd(&self) -> PathBuf {
        self.dir.join("target/release/rsmbd")
    }

    /// Runs tools/testbed/tests/`script` in the guest with `args` and extra environment
    /// (RSMBD_BIN is set to the staged binary); returns (exit code, stdout+stderr). Panics with
    /// the output when the guest did not boot (125) or the run timed out (124).
    pub fn run(
        &self,
        timeout_secs: u32,
        script: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> (i32, String) {
        let mut cmd = Command::new(self.bed().join("run-in-guest.sh"));
        cmd.args(["-t", &timeout_secs.to_string()])
            .arg(self.bed().join("tests").join(script))
            .args(args)
            .env("RSMBD_BIN", self.rsmbd());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run tools/testbed/run-in-guest.sh");
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        let code = out.status.code().unwrap_or(-1);
        match code {
            125 => panic!("the test bed guest did not boot:\n{text}"),
            124 => panic!("the test bed run timed out:\n{text}"),
            _ => {}
        }
        (code, text)
    }
}
