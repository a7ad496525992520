//! The template's AWS resources on a moto server (the state table with its stream, the events
//! topic and a filtered SQS subscription), the two functions started against them, and what
//! the tests read back: stream batches as Lambda would deliver them, queue messages, items.

use std::collections::HashMap;

use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use serde_json::{Value, json};

use super::lambda::{Function, RuntimeApi};
use super::moto::Moto;

pub const TABLE: &str = "statusrelay";

pub struct Cloud {
    pub moto: Moto,
    pub ddb: aws_sdk_dynamodb::Client,
    pub streams: aws_sdk_dynamodbstreams::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub topic_arn: String,
    pub queue_url: String,
    pub stream_arn: String,
    iterators: HashMap<String, Option<String>>,
}

impl Cloud {
    /// The table, topic and a filtered SQS subscription, as infra/template.yaml creates them.
    pub async fn start() -> Cloud {
        let moto = Moto::start().await;
        let sdk = moto.sdk_config().await;
        let ddb = aws_sdk_dynamodb::Client::new(&sdk);
        let stream_arn = super::moto::create_state_table(&ddb, TABLE, true)
            .await
            .unwrap();

        let sns = aws_sdk_sns::Client::new(&sdk);
        let topic_arn = sns
            .create_topic()
            .name("statusrelay-events")
            .send()
            .await
            .unwrap()
            .topic_arn()
            .unwrap()
            .to_owned();
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let queue_url = sqs
            .create_queue()
            .queue_name("github-outages")
            .send()
            .await
            .unwrap()
            .queue_url()
            .unwrap()
            .to_owned();
        let queue_arn = "arn:aws:sqs:us-east-1:123456789012:github-outages";
        // A notification group with no code: GitHub incidents opening or resolving.
        sns.subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(queue_arn)
            .attributes("RawMessageDelivery", "true")
            .attributes(
                "FilterPolicy",
                json!({"provider": ["github"], "event_type": ["incident.created", "incident.resolved"]}).to_string(),
            )
            .send()
            .await
            .unwrap();
        Cloud {
            streams: aws_sdk_dynamodbstreams::Client::new(&sdk),
            moto,
            ddb,
            sqs,
            topic_arn,
            queue_url,
            stream_arn,
            iterators: HashMap::new(),
        }
    }

    /// New stream records since the last call that pass the template's FilterCriteria (state
    /// items only, inserts and modifications), as the Lambda event Lambda would deliver.
    pub async fn stream_batch(&mut self) -> (Value, usize) {
        let description = self
            .streams
            .describe_stream()
            .stream_arn(&self.stream_arn)
            .send()
            .await
            .unwrap();
        let shards: Vec<String> = description
            .stream_description()
            .unwrap()
            .shards()
            .iter()
            .filter_map(|s| s.shard_id().map(str::to_owned))
            .collect();
        let mut records = Vec::new();
        for shard in shards {
            let iterator = match self.iterators.get(&shard) {
                Some(Some(iterator)) => iterator.clone(),
                Some(None) => continue,
                None => self
                    .streams
                    .get_shard_iterator()
                    .stream_arn(&self.stream_arn)
                    .shard_id(&shard)
                    .shard_iterator_type(ShardIteratorType::TrimHorizon)
                    .send()
                    .await
                    .unwrap()
                    .shard_iterator()
                    .unwrap()
                    .to_owned(),
            };
            let output = self
                .streams
                .get_records()
                .shard_iterator(iterator)
                .send()
                .await
                .unwrap();
            records.extend(output.records().iter().cloned());
            self.iterators
                .insert(shard, output.next_shard_iterator().map(str::to_owned));
        }
        let records: Vec<_> = records
            .into_iter()
            .filter(|r| {
                let d = r.dynamodb().unwrap();
                let sk = d
                    .keys()
                    .and_then(|k| k.get("sk"))
                    .and_then(|v| v.as_s().ok())
                    .unwrap();
                let name = r.event_name().unwrap().as_str();
                // The template's FilterCriteria, as written there.
                template_filter_prefixes()
                    .iter()
                    .any(|p| sk.starts_with(p.as_str()))
                    && (name == "INSERT" || name == "MODIFY")
            })
            .collect();
        let count = records.len();
        let records: Vec<Value> = records
            .iter()
            .map(|r| {
                let d = r.dynamodb().unwrap();
                let item = |image: Option<&HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>>| {
                    serde_json::to_value(serde_dynamo::Item::from(image.cloned().unwrap_or_default())).unwrap()
                };
                json!({
                    "eventID": r.event_id(),
                    "eventName": r.event_name().unwrap().as_str(),
                    "eventVersion": "1.1",
                    "eventSource": "aws:dynamodb",
                    "awsRegion": "us-east-1",
                    "dynamodb": {
                        "ApproximateCreationDateTime": d.approximate_creation_date_time().unwrap().secs(),
                        "Keys": item(d.keys.as_ref()),
                        "NewImage": item(d.new_image.as_ref()),
                        "OldImage": item(d.old_image.as_ref()),
                        "SequenceNumber": d.sequence_number(),
                        "SizeBytes": d.size_bytes(),
                        "StreamViewType": "NEW_AND_OLD_IMAGES"
                    },
                    "eventSourceARN": self.stream_arn
                })
            })
            .collect();
        (json!({ "Records": records }), count)
    }

    /// Event types of the messages the filtered queue received since the last call.
    pub async fn queue_types(&self) -> Vec<String> {
        let mut types = Vec::new();
        loop {
            let messages = self.receive_and_delete(&self.queue_url, 0).await;
            if messages.is_empty() {
                break;
            }
            for message in messages {
                let body: Value = serde_json::from_str(message.body().unwrap())
                    .expect("raw delivery of the event JSON");
                types.push(body["type"].as_str().unwrap().to_owned());
            }
        }
        types
    }

    /// A queue as the template makes one: its URL.
    pub async fn create_queue(&self, name: &str) -> String {
        let output = self.sqs.create_queue().queue_name(name).send().await;
        output.unwrap().queue_url().unwrap().to_owned()
    }

    /// One receive of up to 10 messages (waiting up to `wait_seconds` for one), each deleted
    /// as Lambda's queue trigger deletes what an invocation handled.
    pub async fn receive_and_delete(
        &self,
        queue_url: &str,
        wait_seconds: i32,
    ) -> Vec<aws_sdk_sqs::types::Message> {
        let output = self
            .sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(wait_seconds)
            .send()
            .await
            .unwrap();
        for message in output.messages() {
            self.sqs
                .delete_message()
                .queue_url(queue_url)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
        output.messages().to_vec()
    }

    pub async fn item_count(&self) -> i32 {
        self.ddb
            .scan()
            .table_name(TABLE)
            .select(aws_sdk_dynamodb::types::Select::Count)
            .send()
            .await
            .unwrap()
            .count()
    }
}

pub struct Functions {
    pub poller_api: RuntimeApi,
    pub notifier_api: RuntimeApi,
    pub poller: Function,
    pub notifier: Function,
}

impl Functions {
    /// One scheduled poll that must not fail: its report and the stream batch it wrote.
    pub async fn poll(&self, cloud: &mut Cloud) -> (Value, Value) {
        let (report, batch) = self.poll_pages(cloud).await;
        assert_eq!(report["failed"], 0, "{report}");
        (report, batch)
    }

    /// One scheduled poll, whose pages may fail: its report and the stream batch it wrote.
    pub async fn poll_pages(&self, cloud: &mut Cloud) -> (Value, Value) {
        let report = self.poller_api.invoke(&schedule_event()).await.unwrap();
        (report, cloud.stream_batch().await.0)
    }

    /// One poll, and the notifier on its batch, neither failing: the poller's report.
    pub async fn cycle(&self, cloud: &mut Cloud) -> Value {
        let (report, batch) = self.poll(cloud).await;
        self.notify(&batch).await;
        report
    }

    /// One poll whose pages may fail, and the notifier on its batch: the poller's report.
    pub async fn cycle_pages(&self, cloud: &mut Cloud) -> Value {
        let (report, batch) = self.poll_pages(cloud).await;
        self.notify(&batch).await;
        report
    }

    async fn notify(&self, batch: &Value) {
        let response = self.notifier_api.invoke(batch).await.unwrap();
        assert!(failures(&response).is_empty(), "{response}");
    }
}

impl Cloud {
    /// Stores the config in SSM Parameter Store, as the template deploys it.
    pub async fn put_config(&self, config: &std::path::Path) {
        let sdk = self.moto.sdk_config().await;
        aws_sdk_ssm::Client::new(&sdk)
            .put_parameter()
            .name("/statusrelay/config")
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .value(std::fs::read_to_string(config).unwrap())
            .overwrite(true)
            .send()
            .await
            .unwrap();
    }

    /// The environment the template gives both functions, with AWS reached at `endpoint`
    /// (the emulator, or a proxy in front of it). The notifier adds `TOPIC_ARN`.
    pub fn function_env(&self, endpoint: &str) -> Vec<(String, String)> {
        let mut env = super::moto::function_env(endpoint);
        env.push((
            "STATUSRELAY_CONFIG".into(),
            "ssm:/statusrelay/config".into(),
        ));
        env.push(("TABLE_NAME".into(), TABLE.into()));
        env
    }

    pub fn notifier_env(&self, endpoint: &str) -> Vec<(String, String)> {
        let mut env = self.function_env(endpoint);
        env.push(("TOPIC_ARN".into(), self.topic_arn.clone()));
        env
    }
}

/// Both functions, cold, pointed at the emulator, with `config` in SSM.
pub async fn start_functions(cloud: &Cloud, config: &std::path::Path) -> Functions {
    start_functions_with(cloud, config, &[]).await
}

/// As [`start_functions`], the poller with `poller_env` added to the template's environment.
pub async fn start_functions_with(
    cloud: &Cloud,
    config: &std::path::Path,
    poller_env: &[(String, String)],
) -> Functions {
    cloud.put_config(config).await;
    let poller_api = RuntimeApi::start().await;
    let mut env = cloud.function_env(&cloud.moto.endpoint);
    env.extend_from_slice(poller_env);
    let poller = Function::spawn("statusrelay-poller", &poller_api, &env);
    let notifier_api = RuntimeApi::start().await;
    let notifier = Function::spawn(
        "statusrelay-notifier",
        &notifier_api,
        &cloud.notifier_env(&cloud.moto.endpoint),
    );
    Functions {
        poller_api,
        notifier_api,
        poller,
        notifier,
    }
}

/// The event Lambda's SQS trigger delivers for `messages`.
pub fn sqs_event(messages: &[aws_sdk_sqs::types::Message]) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            json!({
                "messageId": m.message_id().unwrap(),
                "receiptHandle": m.receipt_handle().unwrap(),
                "body": m.body().unwrap(),
                "attributes": {},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:statusrelay",
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    json!({ "Records": records })
}

pub fn schedule_event() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/events/schedule.json"))
            .unwrap(),
    )
    .unwrap()
}

pub fn failures(response: &Value) -> Vec<String> {
    response["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_owned())
        .collect()
}

/// The sort-key prefixes of the notifier's stream `FilterCriteria` in `infra/template.yaml`:
/// the emulated stream passes what the deployed one would.
pub fn template_filter_prefixes() -> &'static [String] {
    static PREFIXES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    PREFIXES.get_or_init(|| {
        let template =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/infra/template.yaml"))
                .unwrap();
        let line = template
            .lines()
            .find(|l| l.contains("Pattern:") && l.contains("\"prefix\""))
            .expect("the notifier's FilterCriteria pattern");
        line.split("{\"prefix\": \"")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap().to_owned())
            .collect()
    })
}
