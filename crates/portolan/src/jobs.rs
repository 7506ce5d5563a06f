//! How this process runs background work through the job table (`store::jobs`): it claims a job, renews the claim
//! while the work goes on, and records how the work ended. Work runs on threads of its own, so that a process told
//! to stop can wait a bounded time for jobs under way, hand back those that did not end, and exit without waiting
//! for them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use store::Store;
use store::jobs::{self, Claim, Pick};

/// Work that comes round again: a job name and how often it is due.
#[derive(Debug, Clone, Copy)]
pub struct Periodic {
    pub name: &'static str,
    pub every: Duration,
}

impl Periodic {
    /// When the work is next due after finishing now: a little before its interval, so that the process whose own
    /// timer fires first does the next round rather than one that just missed it.
    fn next_due(&self) -> anyhow::Result<chrono::NaiveDateTime> {
        Ok(store::now() + chrono::Duration::from_std(self.every.mul_f64(0.9))?)
    }
}

/// This process as a doer of background work.
pub struct Worker {
    /// Who holds the jobs this process claims: process id and a random part (a restarted process is someone new).
    pub id: String,
    /// How long a claim lasts unless renewed.
    pub lease: Duration,
    running: Arc<AtomicUsize>,
}

impl Worker {
    pub fn new(lease: Duration) -> Worker {
        let id = format!("{}-{:08x}", std::process::id(), rand::random::<u32>());
        Worker { id, lease, running: Arc::new(AtomicUsize::new(0)) }
    }

    /// Runs `work` on a thread of its own and waits for it without blocking the server. A process that stops does
    /// not wait for such a thread past [`Worker::wind_down`]'s grace: it exits, and the job's claim moves on.
    pub async fn off_thread<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let running = self.running.clone();
        running.fetch_add(1, Ordering::SeqCst);
        std::thread::Builder::new().name("portolan-job".to_owned()).spawn(move || {
            let result = work();
            running.fetch_sub(1, Ordering::SeqCst);
            let _ = sender.send(result);
        })?;
        receiver.await.map_err(|_| anyhow::anyhow!("the job's thread stopped without an answer (it panicked)"))?
    }

    /// Claims `pick` and runs `work` while holding it, renewing the claim as it goes. `None` when the job was not
    /// claimed (another process has it, or it is not due). The claim says whether an earlier holder stopped midway.
    pub fn with_claim<T>(
        &self,
        store: &Store,
        pick: Pick<'_>,
        work: impl FnOnce(&Claim) -> anyhow::Result<T>,
    ) -> anyhow::Result<Option<(Claim, anyhow::Result<T>)>> {
        let now = store::now();
        let until = now + chrono::Duration::from_std(self.lease)?;
        let Some(claim) = jobs::claim(&mut *store.conn()?, pick, &self.id, now, until)? else {
            return Ok(None);
        };
        if claim.attempts > 1 {
            tracing::warn!(job = %claim.name, attempt = claim.attempts, "taking over a job whose process stopped");
        }
        let _renewing = self.keep_claimed(store, &claim.name);
        let result = work(&claim);
        Ok(Some((claim, result)))
    }

    /// Renews this process's claim on the job `name` every third of its lease, until the guard is dropped.
    pub fn keep_claimed(&self, store: &Store, name: &str) -> Renewal {
        Renewal::start(store.clone(), name.to_owned(), self.id.clone(), self.lease)
    }

    /// Runs periodic work when it is due (or `requested`, unless it runs elsewhere), here if this process claims it;
    /// `None` when it was not this process's to do. Success makes it due again a period later; failure keeps the
    /// error on the job and leaves it due at once.
    pub fn periodic<T>(
        &self,
        store: &Store,
        job: Periodic,
        requested: bool,
        work: impl FnOnce() -> anyhow::Result<T>,
    ) -> anyhow::Result<Option<T>> {
        jobs::ensure(&mut *store.conn()?, job.name, job.name, store::now())?;
        let pick = if requested { Pick::Requested(job.name) } else { Pick::Due(job.name) };
        let Some((_, result)) = self.with_claim(store, pick, |_| work())? else {
            return Ok(None);
        };
        let mut conn = store.conn()?;
        let now = store::now();
        let still_ours = match &result {
            Ok(_) => jobs::finish(&mut conn, job.name, &self.id, now, job.next_due()?)?,
            Err(e) => jobs::fail(&mut conn, job.name, &self.id, now, now, &format!("{e:#}"))?,
        };
        if !still_ours {
            tracing::warn!(job = job.name, "the job was taken over by another process before it ended here");
        }
        result.map(Some)
    }

    /// For a process told to stop: waits up to `grace` for jobs under way here to end, then hands back every job
    /// this process still holds, so that another process (or this one, restarted) takes them up at once.
    pub async fn wind_down(&self, store: &Store, grace: Duration) {
        let deadline = tokio::time::Instant::now() + grace;
        while self.running.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let unfinished = self.running.load(Ordering::SeqCst);
        let (store, me) = (store.clone(), self.id.clone());
        let handed = tokio::task::spawn_blocking(move || {
            store
                .conn()
                .map_err(anyhow::Error::from)
                .and_then(|mut conn| jobs::hand_back(&mut conn, &me, store::now()).map_err(anyhow::Error::from))
        })
        .await;
        match handed {
            Ok(Ok(0)) => {}
            Ok(Ok(jobs)) => tracing::warn!(jobs, unfinished, "stopping: jobs under way handed to other processes"),
            Ok(Err(e)) => tracing::error!(error = %e, "stopping: jobs could not be handed back; their leases run out"),
            Err(e) => tracing::error!(error = %e, "stopping: jobs could not be handed back; their leases run out"),
        }
    }
}

/// Renews a claim every third of its lease until dropped.
pub struct Renewal {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Renewal {
    fn start(store: Store, name: String, holder: String, lease: Duration) -> Renewal {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new().name("portolan-lease".to_owned()).spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(lease / 3) {
                let renewed = chrono::Duration::from_std(lease).map_err(anyhow::Error::from).and_then(|lease| {
                    let until = store::now() + lease;
                    Ok(jobs::renew(&mut *store.conn()?, &name, &holder, until)?)
                });
                match renewed {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(job = %name, "lost the job's claim to another process");
                        return;
                    }
                    Err(e) => tracing::warn!(job = %name, error = %e, "the job's claim could not be renewed"),
                }
            }
        });
        match thread {
            Ok(thread) => Renewal { stop: Some(stop), thread: Some(thread) },
            Err(e) => {
                tracing::error!(error = %e, "no thread to renew a job's claim; it lasts its first lease");
                Renewal { stop: None, thread: None }
            }
        }
    }
}

impl Drop for Renewal {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
