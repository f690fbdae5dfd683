//! A real moto server for the AWS tests. The first use makes a Python venv under the target
//! folder with the pinned `moto[server]`; each [`Moto`] is its own server on a free loopback
//! port, killed when dropped.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Once, OnceLock};
use std::time::{Duration, Instant};

use sagedesk::backend::Backend;
use sagedesk::backend::aws::AwsBackend;
use sagedesk::backend::sdk::AwsConnection;
use sagedesk::request::{TrainingJobRequest, request_from_value};
use serde_json::json;

/// The pinned emulator.
const MOTO: &str = "moto[server]==5.2.5";
/// The region every test uses.
pub const REGION: &str = "us-east-1";

/// Dummy credentials and no instance metadata, set once before any client is built, so the
/// SDK never reaches beyond loopback. Every AWS test calls this first (via [`Moto::start`]).
pub fn aws_env() {
    static ENV: Once = Once::new();
    ENV.call_once(|| {
        // SAFETY: every test of the AWS test binary passes through this `Once` before it
        // reads the environment, so nothing reads it while it is written.
        unsafe {
            std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
            std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
            std::env::set_var("AWS_SESSION_TOKEN", "testing");
            std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
            std::env::set_var("AWS_CONFIG_FILE", "/dev/null");
            std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
            std::env::remove_var("AWS_PROFILE");
            std::env::remove_var("AWS_ENDPOINT_URL");
        }
    });
}

/// The environment a child process (the CLI) needs to reach `endpoint` with dummy keys.
pub fn child_env(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("AWS_CONFIG_FILE", "/dev/null".into()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".into()),
        ("AWS_ENDPOINT_URL", endpoint.into()),
    ]
}

/// The venv's Python, made on first use; a file lock keeps parallel test binaries from
/// building it twice.
pub fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| venv("moto-venv", MOTO))
}

/// The SageMaker Python SDK v2, pinned: in maintenance, and what most existing notebooks
/// and `@remote` functions use.
const SDK_V2: &str = "sagemaker==2.257.7";

/// A venv's Python with the SageMaker Python SDK v2, made on first use.
pub fn sdk_v2_python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| venv("sdk-v2-venv", SDK_V2))
}

/// The SageMaker Python SDK v3's training package, pinned: the client most new users submit
/// with (`sagemaker.train.ModelTrainer`).
const SDK_V3: &str = "sagemaker-train==1.27.0";

/// A venv's Python with the SageMaker Python SDK v3, made on first use.
pub fn sdk_v3_python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| venv("sdk-v3-venv", SDK_V3))
}

/// The SageMaker training toolkit the framework containers run, pinned: its own
/// `Environment()` is what the job's environment is checked against.
const TOOLKIT: &str = "sagemaker-training==5.1.4";

/// A venv's Python with the training toolkit, made on first use.
pub fn toolkit_python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| venv("toolkit-venv", TOOLKIT))
}

/// The debugger VS Code attaches with, pinned.
const DEBUGPY: &str = "debugpy==1.8.22";

/// A venv's Python with debugpy, made on first use.
pub fn debugpy_python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| venv("debugpy-venv", DEBUGPY))
}

/// The Python of the venv `name` under the target folder with `requirement` installed,
/// made once (a file lock keeps parallel test binaries from making it twice) and made
/// again when the requirement changes.
fn venv(name: &str, requirement: &str) -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let python = venv.join("bin").join("python");
    let ready = venv.join(".sagedesk-ready");
    std::fs::create_dir_all(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let lock = std::fs::File::create(venv.with_extension("lock")).expect("venv lock file");
    // SAFETY: flock on a file descriptor this function owns.
    assert_eq!(
        unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&lock), libc::LOCK_EX) },
        0
    );
    if std::fs::read_to_string(&ready).ok().as_deref() != Some(requirement) {
        let base = std::env::var("SAGEDESK_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        eprintln!(
            "creating {} with {requirement} (first run only)",
            venv.display()
        );
        run(Command::new(&base)
            .args(["-m", "venv", "--clear"])
            .arg(&venv));
        run(Command::new(&python).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            requirement,
        ]));
        std::fs::write(&ready, requirement).unwrap();
    }
    python
}

fn run(command: &mut Command) {
    let status = command
        .status()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(status.success(), "{command:?} failed: {status}");
}

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One moto server.
pub struct Moto {
    child: Option<Child>,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Python run in the server's process before it serves (state too large to create
    /// through requests in a test's time).
    seed: Option<String>,
}

impl Moto {
    /// Runs `code` with the emulator's Python, boto3 pointed at this server.
    pub fn boto3(&self, code: &str) {
        let status = Command::new(python())
            .arg("-c")
            .arg(code)
            .envs(child_env(&self.endpoint()))
            .env("AWS_DEFAULT_REGION", REGION)
            .status()
            .expect("the emulator's Python");
        assert!(status.success(), "boto3 script failed:\n{code}");
    }

    /// Starts a server and waits until it answers.
    pub fn start() -> Self {
        aws_env();
        Self::start_seeded(None)
    }

    /// Starts a server whose process first runs `seed`, Python with moto's backends at hand
    /// (`s3_backends[ACCOUNT]["aws"]`, ...), then serves.
    pub fn start_seeded(seed: Option<&str>) -> Self {
        aws_env();
        let mut moto = Self {
            child: None,
            port: free_port(),
            seed: seed.map(str::to_string),
        };
        moto.restart();
        moto
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A connection to this server.
    pub fn connection(&self) -> AwsConnection {
        connection(&self.endpoint())
    }

    /// Kills the server; its state is gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts a fresh server on the same port (killing the running one).
    pub fn restart(&mut self) {
        self.kill();
        let log = std::fs::File::create(
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("moto-{}.log", self.port)),
        )
        .unwrap();
        let port = self.port.to_string();
        let mut command = Command::new(python());
        match &self.seed {
            None => command.args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port]),
            Some(seed) => command.args([
                "-c",
                &format!(
                    "from moto.s3.models import s3_backends\nACCOUNT = '123456789012'\n{seed}\n\
                     from moto.server import main\nmain(['-H', '127.0.0.1', '-p', '{port}'])\n"
                ),
            ]),
        };
        let child = command
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("start moto");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !answers(self.port) {
            assert!(
                Instant::now() < deadline,
                "moto did not answer on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A connection to `endpoint` in the test region.
pub fn connection(endpoint: &str) -> AwsConnection {
    aws_env();
    AwsConnection {
        profile: None,
        region: Some(REGION.into()),
        endpoint_url: Some(endpoint.into()),
    }
}

fn answers(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = "GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    let mut head = [0u8; 12];
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_exact(&mut head).is_ok()
        && head.starts_with(b"HTTP/1.")
}

/// A minimal request for a job on AWS (ml.m5.large × 1), as the AWS tests create them.
pub fn aws_request(name: &str) -> TrainingJobRequest {
    request_from_value(
        json!({
            "TrainingJobName": name,
            "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
            "AlgorithmSpecification": {"TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/t:1", "TrainingInputMode": "File"},
            "OutputDataConfig": {"S3OutputPath": "s3://app-bucket/output"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600}
        }),
        "test",
    )
    .unwrap()
    .request
}

/// Creates jobs `names` on the server at `endpoint`.
pub async fn seed(endpoint: &str, names: &[&str]) {
    let aws = AwsBackend::connect(connection(endpoint))
        .await
        .expect("connect");
    for name in names {
        aws.create_training_job(aws_request(name))
            .await
            .expect("create");
    }
}

/// Appends `lines` to the job's log stream in the server's CloudWatch Logs, stamped now.
pub fn log_to_moto(moto: &Moto, job: &str, lines: &[&str]) {
    let events: Vec<String> = lines
        .iter()
        .map(|l| format!("{{'timestamp': int(time.time() * 1000), 'message': {l:?}}}"))
        .collect();
    moto.boto3(&format!(
        "import boto3, time\n\
         logs = boto3.client('logs')\n\
         group, stream = '/aws/sagemaker/TrainingJobs', '{job}/algo-1-1700000000'\n\
         try:\n    logs.create_log_group(logGroupName=group)\n\
         except logs.exceptions.ResourceAlreadyExistsException:\n    pass\n\
         try:\n    logs.create_log_stream(logGroupName=group, logStreamName=stream)\n\
         except logs.exceptions.ResourceAlreadyExistsException:\n    pass\n\
         logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[{}])\n",
        events.join(", ")
    ));
}
