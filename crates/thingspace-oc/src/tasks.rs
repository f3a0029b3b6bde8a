//! Tasks: `GET {oc_base}/api/v2/task/{taskId}`. A conversion of a lead runs as a task, which
//! goes from `InProgress` to `CompletedSuccess` (its output holds the new customer's
//! `umpCustomerGuid`) or `Failed` (its execution messages say why).

use std::{fmt, time::Duration};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thingspace_core::de::{null_as_default, opt_string_or_number};
use thingspace_core::{ApiRequest, Client, Error, ErrorKind, Response, Result};

use crate::problem::{clean, with_problem};
use crate::timestamp::{Timestamp, opt_timestamp};

/// Operation name of [`TasksApi::get`].
pub const GET_TASK: &str = "oc.tasks.get";
/// Operation name of [`TasksApi::wait`] (its errors of its own: a failed task, a wait that
/// timed out; each poll is a [`GET_TASK`]).
pub const WAIT_TASK: &str = "oc.tasks.wait";

/// The id of a task, such as `wst_…`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskId(String);

impl TaskId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for TaskId {
    fn from(id: String) -> Self {
        Self(id)
    }
}

impl From<&str> for TaskId {
    fn from(id: &str) -> Self {
        Self(id.to_owned())
    }
}

impl AsRef<str> for TaskId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Where a task stands.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TaskStatus {
    /// `InProgress`: not finished.
    InProgress,
    /// `CompletedSuccess`: done; the output holds what it made.
    CompletedSuccess,
    /// `Failed`: the execution messages say why.
    Failed,
    /// A status this SDK does not know, as sent (a number is kept as its text). A wait goes
    /// on through it.
    Other(String),
}

impl TaskStatus {
    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            TaskStatus::InProgress => "InProgress",
            TaskStatus::CompletedSuccess => "CompletedSuccess",
            TaskStatus::Failed => "Failed",
            TaskStatus::Other(s) => s,
        }
    }

    /// Whether the task has finished, well or not.
    pub fn is_finished(&self) -> bool {
        matches!(self, TaskStatus::CompletedSuccess | TaskStatus::Failed)
    }

    fn read(text: String) -> Self {
        match text.trim() {
            s if s.eq_ignore_ascii_case("InProgress") => TaskStatus::InProgress,
            s if s.eq_ignore_ascii_case("CompletedSuccess") => TaskStatus::CompletedSuccess,
            s if s.eq_ignore_ascii_case("Failed") => TaskStatus::Failed,
            _ => TaskStatus::Other(text),
        }
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for TaskStatus {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TaskStatus {
    /// Text in any case, or a number (kept as its text, as [`TaskStatus::Other`]).
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        match opt_string_or_number(d)? {
            Some(text) => Ok(TaskStatus::read(text)),
            None => Err(serde::de::Error::invalid_type(
                serde::de::Unexpected::Unit,
                &"a task status",
            )),
        }
    }
}

/// A task: what the service is doing, or did, for a request that takes a while.
/// Serialises with the wire names.
///
/// Decoding is lenient as for leads: text fields accept numbers, timestamps that are not
/// RFC 3339 are kept as sent, `null` lists are empty, an execution message may be a bare
/// text; unknown fields are ignored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct Task {
    /// The task id.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub id: Option<String>,
    /// Where it stands.
    #[serde(deserialize_with = "opt_status")]
    pub status: Option<TaskStatus>,
    /// The service's details of the task, kept as sent.
    #[serde(deserialize_with = "null_as_default")]
    pub details: Vec<serde_json::Value>,
    /// What the task reported as it ran: on a failure, why.
    #[serde(deserialize_with = "null_as_default")]
    pub execution_messages: Vec<ExecutionMessage>,
    /// What the task made, once it completed (a conversion's `umpCustomerGuid`).
    #[serde(deserialize_with = "opt_output")]
    pub output_data: Option<TaskOutput>,
    /// When it was created.
    #[serde(deserialize_with = "opt_timestamp")]
    pub create_time: Option<Timestamp>,
    /// When it finished.
    #[serde(deserialize_with = "opt_timestamp")]
    pub complete_time: Option<Timestamp>,
}

/// One execution message of a task.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ExecutionMessage {
    /// Its level, such as `Info` or `Error`.
    pub level: Option<String>,
    /// What it says.
    pub message: Option<String>,
}

impl ExecutionMessage {
    /// Whether its level says it is an error (`Error`, `Fatal`, `Critical`, any case).
    pub fn is_error(&self) -> bool {
        self.level.as_deref().is_some_and(|l| {
            let l = l.to_ascii_lowercase();
            ["error", "fatal", "critical"]
                .iter()
                .any(|word| l.contains(word))
        })
    }
}

impl fmt::Display for ExecutionMessage {
    /// `Level: message`, the text cleaned of control characters and bounded.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = clean(self.message.as_deref().unwrap_or_default());
        match self.level.as_deref().map(clean) {
            Some(level) if !level.is_empty() => write!(f, "{level}: {message}"),
            _ => f.write_str(&message),
        }
    }
}

impl<'de> Deserialize<'de> for ExecutionMessage {
    /// `{"level", "message"}` (text or numbers), or a bare text taken as the message.
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Default, Deserialize)]
        #[serde(default, rename_all = "camelCase")]
        struct Fields {
            #[serde(deserialize_with = "opt_string_or_number")]
            level: Option<String>,
            #[serde(deserialize_with = "opt_string_or_number")]
            message: Option<String>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Fields(Fields),
        }
        Ok(match Raw::deserialize(d)? {
            Raw::Text(message) => ExecutionMessage {
                level: None,
                message: Some(message),
            },
            Raw::Fields(f) => ExecutionMessage {
                level: f.level,
                message: f.message,
            },
        })
    }
}

/// What a completed task made. A conversion's holds the new customer's `umpCustomerGuid`;
/// every other field is kept as sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct TaskOutput {
    /// The Live Platform customer a conversion made.
    #[serde(
        deserialize_with = "opt_string_or_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub ump_customer_guid: Option<String>,
    /// The other fields, as sent.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

fn opt_status<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<TaskStatus>, D::Error> {
    Ok(opt_string_or_number(d)?
        .filter(|s| !s.trim().is_empty())
        .map(TaskStatus::read))
}

/// `outputData`: an object, `null`, or an object written as JSON text (as some .NET services
/// send it); a blank text is `None`.
fn opt_output<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<TaskOutput>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Object(TaskOutput),
        Text(String),
    }
    match Option::<Raw>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::Object(output)) => Ok(Some(output)),
        Some(Raw::Text(text)) if text.trim().is_empty() => Ok(None),
        Some(Raw::Text(text)) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|_| serde::de::Error::custom("outputData is text that is not a JSON object")),
    }
}

/// A task that ended `Failed`, with its execution messages. Find it in an error with
/// [`OcErrorExt::task_failed`](crate::OcErrorExt::task_failed).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TaskFailed {
    /// The task, as it was last read.
    pub task: Task,
}

/// The most execution messages a [`TaskFailed`] shows.
const MAX_SHOWN_MESSAGES: usize = 10;

impl TaskFailed {
    /// Every execution message of the task.
    pub fn messages(&self) -> &[ExecutionMessage] {
        &self.task.execution_messages
    }

    /// The messages worth showing: those of an error level when there are any, else all.
    fn shown(&self) -> Vec<&ExecutionMessage> {
        let errors: Vec<&ExecutionMessage> =
            self.messages().iter().filter(|m| m.is_error()).collect();
        if errors.is_empty() {
            self.messages().iter().collect()
        } else {
            errors
        }
    }
}

impl fmt::Display for TaskFailed {
    /// `task <id> failed: <messages>`, the error-level messages when there are any, at most
    /// ten.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = clean(self.task.id.as_deref().unwrap_or("(no id)"));
        write!(f, "task {id} failed")?;
        let shown = self.shown();
        if shown.is_empty() {
            return f.write_str(" without an execution message");
        }
        f.write_str(": ")?;
        for (i, m) in shown.iter().take(MAX_SHOWN_MESSAGES).enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            m.fmt(f)?;
        }
        if shown.len() > MAX_SHOWN_MESSAGES {
            write!(f, "; and {} more", shown.len() - MAX_SHOWN_MESSAGES)?;
        }
        Ok(())
    }
}

impl std::error::Error for TaskFailed {}

/// How [`TasksApi::wait_with`] polls: the first wait between two reads of the task, doubled
/// after each read up to a cap, and how long to wait in all.
///
/// ```
/// use std::time::Duration;
/// use thingspace_oc::tasks::TaskWait;
///
/// let wait = TaskWait::default().with_timeout(Duration::from_secs(120));
/// assert_eq!(wait.timeout(), Duration::from_secs(120));
/// assert_eq!(wait.initial_interval(), Duration::from_millis(500));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskWait {
    timeout: Duration,
    initial_interval: Duration,
    max_interval: Duration,
}

impl Default for TaskWait {
    /// Ten minutes in all; 0.5 s between the first reads, doubling up to 15 s.
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(600),
            initial_interval: Duration::from_millis(500),
            max_interval: Duration::from_secs(15),
        }
    }
}

impl TaskWait {
    /// Waits at most `timeout` in all (the task is read a last time when it has passed).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Waits `interval` between the first two reads (at least 10 ms).
    pub fn with_initial_interval(mut self, interval: Duration) -> Self {
        self.initial_interval = interval.max(Duration::from_millis(10));
        self.max_interval = self.max_interval.max(self.initial_interval);
        self
    }

    /// Waits at most `interval` between two reads (at least the initial interval).
    pub fn with_max_interval(mut self, interval: Duration) -> Self {
        self.max_interval = interval.max(self.initial_interval);
        self
    }

    /// How long a wait lasts at most.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The interval between the first two reads.
    pub fn initial_interval(&self) -> Duration {
        self.initial_interval
    }

    /// The longest interval between two reads.
    pub fn max_interval(&self) -> Duration {
        self.max_interval
    }
}

/// The tasks resource. Get it with [`OperatorConnect::tasks`](crate::OperatorConnect::tasks).
#[derive(Debug, Clone, Copy)]
pub struct TasksApi<'a> {
    client: &'a Client,
}

impl<'a> TasksApi<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// The task `id`, as it stands.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] before any request for an empty or unusable id; the
    /// service's error otherwise (a 404 for an unknown task: [`Error::is_not_found`]).
    pub async fn get(&self, id: &str) -> Result<Task> {
        let response = self
            .client
            .send(&get_request(id))
            .await
            .map_err(with_problem)?;
        decode_get(&response)
    }

    /// Waits for the task `id` to finish, as [`wait_with`](Self::wait_with) with the default
    /// [`TaskWait`] (ten minutes in all).
    ///
    /// # Errors
    /// As [`wait_with`](Self::wait_with).
    pub async fn wait(&self, id: &str) -> Result<TaskOutput> {
        self.wait_with(id, &TaskWait::default()).await
    }

    /// Reads the task `id` until it is `CompletedSuccess` (returns its output: for a
    /// conversion, the new customer's `umpCustomerGuid`) or `Failed`, waiting between reads
    /// as `how` says (doubling intervals), at most `how`'s timeout in all. A status this SDK
    /// does not know is waited through.
    ///
    /// # Errors
    /// - for a `Failed` task, an [`ErrorKind::Api`] error (operation [`WAIT_TASK`]) whose
    ///   message holds the execution messages, carrying a [`TaskFailed`] with the task:
    ///   find it with [`OcErrorExt::task_failed`](crate::OcErrorExt::task_failed);
    /// - [`ErrorKind::Timeout`] (operation [`WAIT_TASK`]) when the task has not finished in
    ///   time, naming its last status: it may still finish, read it again later;
    /// - the error of a read, as [`get`](Self::get) (each read is retried as any GET).
    pub async fn wait_with(&self, id: &str, how: &TaskWait) -> Result<TaskOutput> {
        let started = tokio::time::Instant::now();
        // A timeout too long to add is a wait without end, in practice.
        let deadline = started
            .checked_add(how.timeout)
            .unwrap_or_else(|| started + Duration::from_secs(100 * 365 * 86_400));
        let mut interval = how.initial_interval;
        loop {
            let task = self.get(id).await?;
            match task.status {
                Some(TaskStatus::CompletedSuccess) => {
                    return Ok(task.output_data.unwrap_or_default());
                }
                Some(TaskStatus::Failed) => return Err(failed(task)),
                _ => {}
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                let status = task.status.as_ref().map_or("no status", TaskStatus::as_str);
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "task {} is still {} after {:.1} s; it may still finish: read it again \
                         later (`tasks().get`, `thingspace oc tasks get {}`)",
                        clean(id),
                        clean(status),
                        started.elapsed().as_secs_f64(),
                        clean(id),
                    ),
                )
                .with_operation(WAIT_TASK));
            }
            tracing::debug!(task = id, status = ?task.status, ?interval, "task not finished");
            tokio::time::sleep(interval.min(deadline - now)).await;
            interval = (interval * 2).min(how.max_interval);
        }
    }
}

/// The error of a task that ended `Failed`.
fn failed(task: Task) -> Error {
    let failure = TaskFailed { task };
    Error::new(ErrorKind::Api, failure.to_string())
        .with_operation(WAIT_TASK)
        .with_source(failure)
}

/// The request of [`TasksApi::get`].
pub fn get_request(id: &str) -> ApiRequest {
    ApiRequest::get(GET_TASK, "/api/v2/task/{taskId}").path_param("taskId", id)
}

/// Decodes the answer to [`TasksApi::get`].
///
/// # Errors
/// [`ErrorKind::Decode`] for anything that is not a task, or a task without a status (a wait
/// could not tell where it stands).
pub fn decode_get(response: &Response) -> Result<Task> {
    let task: Task = response.json(GET_TASK)?;
    if task.status.is_none() {
        return Err(response.not_the_answer(GET_TASK, "the task has no status"));
    }
    Ok(task)
}

#[cfg(test)]
mod tests {
    use super::*;
    use thingspace_core::http::{HeaderMap, StatusCode};

    fn answer(body: &str) -> Result<Task> {
        decode_get(&Response::new(
            StatusCode::OK,
            HeaderMap::new(),
            body.to_owned(),
        ))
    }

    #[test]
    fn decodes_the_documented_task() {
        let t = answer(
            r#"{"id":"wst_1","status":"CompletedSuccess","details":[{"step":1}],
                "executionMessages":[{"level":"Info","message":"Customer created"}],
                "outputData":{"umpCustomerGuid":"c-1","extra":7},
                "createTime":"2024-04-03T13:32:12.8286742","completeTime":"2024-04-03T13:33:00Z"}"#,
        )
        .expect("task");
        assert_eq!(t.status, Some(TaskStatus::CompletedSuccess));
        let out = t.output_data.as_ref().expect("output");
        assert_eq!(out.ump_customer_guid.as_deref(), Some("c-1"));
        assert_eq!(out.other["extra"], 7);
        assert!(t.create_time.as_ref().and_then(Timestamp::parsed).is_some());
        assert_eq!(
            t.execution_messages[0].to_string(),
            "Info: Customer created"
        );
        let v = serde_json::to_value(&t).expect("encode");
        assert_eq!(v["outputData"]["umpCustomerGuid"], "c-1");
        assert_eq!(v["status"], "CompletedSuccess");
    }

    #[test]
    fn tolerates_the_quirks_of_real_services() {
        let t = answer(
            r#"{"id":12,"status":"inprogress","details":null,"executionMessages":["starting",
                {"level":2,"message":null}],"outputData":"{\"umpCustomerGuid\":\"c-2\"}",
                "createTime":"yesterday","completeTime":""}"#,
        )
        .expect("task");
        assert_eq!(t.id.as_deref(), Some("12"));
        assert_eq!(t.status, Some(TaskStatus::InProgress));
        assert_eq!(t.execution_messages[0].message.as_deref(), Some("starting"));
        assert_eq!(t.execution_messages[1].level.as_deref(), Some("2"));
        assert_eq!(
            t.output_data.and_then(|o| o.ump_customer_guid).as_deref(),
            Some("c-2")
        );
        assert_eq!(t.create_time, Some(Timestamp::Unparsed("yesterday".into())));
        assert_eq!(t.complete_time, None);
        let t = answer(r#"{"status":3}"#).expect("numeric status");
        assert_eq!(t.status, Some(TaskStatus::Other("3".into())));
    }

    #[test]
    fn what_is_not_a_task_is_refused() {
        for body in [
            "",
            "null",
            "{}",
            "[]",
            r#"{"id":"wst_1"}"#,
            r#"{"status":" "}"#,
            r#"{"status":"Failed","outputData":"not json"}"#,
            r#"{"status":"Failed","outputData":[1]}"#,
        ] {
            let e = answer(body).expect_err(body);
            assert!(e.is_decode(), "{body}: {e}");
            assert_eq!(e.operation(), Some(GET_TASK));
        }
    }

    #[test]
    fn a_failure_shows_its_error_messages() {
        let t = answer(
            r#"{"id":"wst_9","status":"Failed","executionMessages":[
                {"level":"Info","message":"Started"},
                {"level":"Error","message":"Short name\u001b[2J is taken"},
                {"level":"Error","message":"Rolled back"}]}"#,
        )
        .expect("task");
        let err = failed(t);
        assert_eq!(err.kind(), ErrorKind::Api);
        assert_eq!(
            err.to_string(),
            "oc.tasks.wait: task wst_9 failed: Error: Short name [2J is taken; Error: Rolled back"
        );
        let t = answer(r#"{"id":"wst_9","status":"Failed"}"#).expect("task");
        assert!(
            failed(t)
                .to_string()
                .ends_with("failed without an execution message")
        );
        let many: Vec<String> = (0..15)
            .map(|i| format!(r#"{{"level":"Warning","message":"m{i}"}}"#))
            .collect();
        let t = answer(&format!(
            r#"{{"id":"w","status":"Failed","executionMessages":[{}]}}"#,
            many.join(",")
        ))
        .expect("task");
        assert!(failed(t).to_string().ends_with("Warning: m9; and 5 more"));
    }

    #[test]
    fn wait_settings_stay_sensible() {
        let w = TaskWait::default()
            .with_initial_interval(Duration::ZERO)
            .with_max_interval(Duration::ZERO);
        assert_eq!(w.initial_interval(), Duration::from_millis(10));
        assert_eq!(w.max_interval(), Duration::from_millis(10));
        let w = TaskWait::default().with_initial_interval(Duration::from_secs(60));
        assert_eq!(w.max_interval(), Duration::from_secs(60));
        assert_eq!(w.timeout(), Duration::from_secs(600));
    }
}
