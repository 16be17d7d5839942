//! The RPC gateway at `/`: the checks the real POP gateway makes before an
//! action runs (parameters, timestamp, access key, signature, nonce,
//! version, action), then dispatch to dyplsapi or dybaseapi.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::{Map, Value};

use crate::action_result::{ActionResult, BizError};
use crate::clock::{parse_utc_timestamp, real_now_ms};
use crate::faults::FaultKind;
use crate::params::Params;
use crate::signature::{rpc_signature, rpc_string_to_sign, signatures_equal};
use crate::{App, ResetConnection};

/// Which product an action belongs to (it names the HostId of errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Product {
    Dypls,
    Dybase,
}

impl Product {
    fn host(self) -> &'static str {
        match self {
            Product::Dypls => "dyplsapi.aliyuncs.com",
            Product::Dybase => "dybaseapi.aliyuncs.com",
        }
    }
}

/// An action the gateway knows, with the parameters it insists on.
#[derive(Clone, Copy)]
struct ActionSpec {
    name: &'static str,
    product: Product,
    required: &'static [&'static str],
}

/// The actions of version 2017-05-25 that the emulator offers.
const ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        name: "BindAxb",
        product: Product::Dypls,
        required: &["PoolKey", "PhoneNoA", "PhoneNoB", "Expiration"],
    },
    ActionSpec {
        name: "BindAxn",
        product: Product::Dypls,
        required: &["PoolKey", "PhoneNoA", "Expiration"],
    },
    ActionSpec {
        name: "BindAxnExtension",
        product: Product::Dypls,
        required: &["PoolKey", "PhoneNoA", "Expiration"],
    },
    ActionSpec {
        name: "BuySecretNo",
        product: Product::Dypls,
        required: &["PoolKey", "SpecId", "City"],
    },
    ActionSpec {
        name: "ReleaseSecretNo",
        product: Product::Dypls,
        required: &["PoolKey", "SecretNo"],
    },
    ActionSpec {
        name: "QueryRecordFileDownloadUrl",
        product: Product::Dypls,
        required: &["CallId"],
    },
    ActionSpec {
        name: "QuerySubscriptionDetail",
        product: Product::Dypls,
        required: &["SubsId", "PhoneNoX"],
    },
    ActionSpec {
        name: "UnbindSubscription",
        product: Product::Dypls,
        required: &["SubsId", "SecretNo"],
    },
    ActionSpec {
        name: "UpdateSubscription",
        product: Product::Dypls,
        required: &["SubsId", "PhoneNoX", "OperateType"],
    },
    ActionSpec {
        name: "QueryTokenForMnsQueue",
        product: Product::Dybase,
        required: &["MessageType", "QueueName"],
    },
];

/// The common parameters every signed request carries, in checking order.
const COMMON_REQUIRED: &[&str] = &[
    "Version",
    "AccessKeyId",
    "SignatureMethod",
    "Timestamp",
    "SignatureVersion",
    "SignatureNonce",
    "Signature",
    "Action",
];

const API_VERSION: &str = "2017-05-25";
/// How far a request's time may be from the gateway's, either way.
const SKEW_MS: i64 = 15 * 60 * 1000;

/// The gateway's time check, for every kind of signed request: a UTC
/// `YYYY-MM-DDTHH:mm:ssZ` within 15 minutes of now, with the real codes.
pub fn check_timestamp(text: &str) -> Result<(), GatewayError> {
    let at = parse_utc_timestamp(text).ok_or_else(|| {
        gateway_error(
            400,
            "InvalidTimeStamp.Format",
            "Specified time stamp or date value is not well formatted.",
        )
    })?;
    if (real_now_ms() - at).abs() > SKEW_MS {
        return Err(gateway_error(
            400,
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date value is expired.",
        ));
    }
    Ok(())
}
/// Nonces are remembered longer than the timestamp window on both sides,
/// so a replay is caught for as long as its timestamp would pass.
const NONCE_MEMORY_MS: i64 = 31 * 60 * 1000;

/// A gateway-level rejection: its own HTTP status and body shape.
#[derive(Debug)]
pub struct GatewayError {
    status: StatusCode,
    code: Cow<'static, str>,
    message: String,
    host: &'static str,
}

pub(crate) fn gateway_error(
    status: u16,
    code: impl Into<Cow<'static, str>>,
    message: impl Into<String>,
) -> GatewayError {
    GatewayError {
        status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        code: code.into(),
        message: message.into(),
        host: Product::Dypls.host(),
    }
}

fn missing(param: &str) -> GatewayError {
    gateway_error(
        400,
        format!("Missing{param}"),
        format!("{param} is mandatory for this action."),
    )
}

/// Nonces seen recently, per access key.
#[derive(Debug, Default)]
pub struct NonceStore {
    seen: HashMap<String, i64>,
    order: VecDeque<(i64, String)>,
}

impl NonceStore {
    /// Records a nonce; false when it was seen inside the window.
    pub fn remember(&mut self, key_and_nonce: String, now_ms: i64) -> bool {
        while let Some((expiry, _)) = self.order.front() {
            if *expiry > now_ms {
                break;
            }
            if let Some((_, old)) = self.order.pop_front() {
                self.seen.remove(&old);
            }
        }
        if self.seen.contains_key(&key_and_nonce) {
            return false;
        }
        let expiry = now_ms + NONCE_MEMORY_MS;
        self.seen.insert(key_and_nonce.clone(), expiry);
        self.order.push_back((expiry, key_and_nonce));
        true
    }

    /// Forgets everything (control reset).
    pub fn clear(&mut self) {
        self.seen.clear();
        self.order.clear();
    }
}

pub(crate) fn json_response(status: StatusCode, body: Vec<u8>, request_id: &str) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("x-acs-request-id", v);
    }
    response
}

impl GatewayError {
    pub(crate) fn into_response(self, request_id: &str) -> Response {
        let body = serde_json::json!({
            "RequestId": request_id,
            "HostId": self.host,
            "Code": self.code,
            "Message": self.message,
            "Recommend": format!("https://api.aliyun.com/troubleshoot?q={}&product=Dyplsapi", self.code),
        });
        json_response(
            self.status,
            serde_json::to_vec(&body).unwrap_or_default(),
            request_id,
        )
    }
}

fn business_response(request_id: &str, result: ActionResult) -> Response {
    let mut body = Map::new();
    body.insert("RequestId".into(), Value::String(request_id.to_string()));
    match result {
        Ok(fields) => {
            body.insert("Code".into(), Value::String("OK".into()));
            body.insert("Message".into(), Value::String("OK".into()));
            body.extend(fields);
        }
        Err(BizError { code, message }) => {
            body.insert("Code".into(), Value::String(code.into()));
            body.insert("Message".into(), Value::String(message));
        }
    }
    json_response(
        StatusCode::OK,
        serde_json::to_vec(&body).unwrap_or_default(),
        request_id,
    )
}

/// Runs every gateway check up to (not including) the nonce; returns the
/// action's spec.
fn verify(app: &App, method: &Method, params: &Params) -> Result<ActionSpec, GatewayError> {
    for name in COMMON_REQUIRED {
        if params.get(name).is_none_or(str::is_empty) {
            return Err(missing(name));
        }
    }
    let get = |k: &str| params.get(k).unwrap_or("");
    if get("SignatureMethod") != "HMAC-SHA1" {
        return Err(gateway_error(
            400,
            "InvalidSignatureMethod.Malformed",
            "Specified signature method is not valid.",
        ));
    }
    if get("SignatureVersion") != "1.0" {
        return Err(gateway_error(
            400,
            "InvalidSignatureVersion.Malformed",
            "Specified signature version is not valid.",
        ));
    }
    check_timestamp(get("Timestamp"))?;
    let secret = crate::sts::secret_for(app, get("AccessKeyId"), params.get("SecurityToken"))?;
    let string_to_sign = rpc_string_to_sign(method.as_str(), &params.signed_pairs());
    if !signatures_equal(&rpc_signature(&secret, &string_to_sign), get("Signature")) {
        return Err(gateway_error(
            400,
            "SignatureDoesNotMatch",
            format!("Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}"),
        ));
    }
    Ok(find_spec(params))
}

/// The spec of the request's Action: the gateway's own table first, then
/// the rest of the API's catalogue, else the stand-in for an unknown one.
fn find_spec(params: &Params) -> ActionSpec {
    let name = params.get("Action").unwrap_or("");
    if let Some(spec) = ACTIONS.iter().find(|a| a.name == name) {
        return *spec;
    }
    crate::actions::catalog_generated::CATALOG
        .iter()
        .find(|(action, _)| *action == name)
        .map_or(UNKNOWN_ACTION, |(action, required)| ActionSpec {
            name: action,
            product: Product::Dypls,
            required,
        })
}

/// Stands in for an Action the API lacks until the Version check has run,
/// so the errors come in the real gateway's order.
const UNKNOWN_ACTION: ActionSpec = ActionSpec {
    name: "",
    product: Product::Dypls,
    required: &[],
};

/// The checks after the nonce: version, action, action parameters.
fn verify_action(spec: ActionSpec, params: &Params) -> Result<ActionSpec, GatewayError> {
    if params.get("Version") != Some(API_VERSION) {
        return Err(gateway_error(
            400,
            "InvalidVersion",
            "Specified parameter Version is not valid.",
        ));
    }
    if spec.name.is_empty() {
        return Err(gateway_error(
            404,
            "InvalidAction.NotFound",
            "Specified api is not found, please check your url and method.",
        ));
    }
    for name in spec.required {
        if crate::actions::param(params, name).is_none_or(str::is_empty) {
            let mut e = missing(name);
            e.host = spec.product.host();
            return Err(e);
        }
    }
    Ok(spec)
}

/// Answers a fault that replaces the real answer; None for `slow`, which
/// only delays.
async fn apply_fault(kind: FaultKind, delay_ms: u64, request_id: &str) -> Option<Response> {
    let error = |status: u16, code: &'static str, message: &str| {
        Some(gateway_error(status, code, message).into_response(request_id))
    };
    match kind {
        FaultKind::Slow => {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            None
        }
        FaultKind::Http500 => error(
            500,
            "InternalError",
            "The request processing has failed due to some unknown error.",
        ),
        FaultKind::Http503 => error(
            503,
            "ServiceUnavailable",
            "The request has failed due to a temporary failure of the server.",
        ),
        FaultKind::Throttle => error(
            400,
            "Throttling.User",
            "Request was denied due to user flow control.",
        ),
        FaultKind::FlowLimit => Some(business_response(
            request_id,
            Err(BizError {
                code: "isv.FLOW_LIMIT",
                message: "业务流控".into(),
            }),
        )),
        FaultKind::NonJson => {
            let mut r = Response::new(Body::from("<html><head><title>502 Bad Gateway</title></head><body>502 Bad Gateway</body></html>"));
            *r.status_mut() = StatusCode::BAD_GATEWAY;
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
            Some(r)
        }
        FaultKind::Reset => {
            let mut r = Response::new(Body::empty());
            r.extensions_mut().insert(ResetConnection);
            Some(r)
        }
        other => crate::faults::broken_reply(other, request_id),
    }
}

/// The handler for `/`, GET or POST.
pub async fn handle(
    State(app): State<Arc<App>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = app.ids.request_id();
    let mut params = Params::default();
    if let Some(query) = uri.query() {
        params.extend_from_form(query.as_bytes());
    }
    if method == Method::POST {
        params.extend_from_form(&body);
    }
    // STS's AssumeRoleWithOIDC is anonymous: the OIDC token stands in
    // for a signature.
    if crate::sts::is_oidc(&params) {
        return crate::sts::handle_oidc(&app, &params, &request_id);
    }
    let verified = if crate::acs3::applies(&headers) {
        crate::acs3::verify(&app, &method, &uri, &headers, &body, &mut params)
            .map(|()| find_spec(&params))
    } else {
        verify(&app, &method, &params)
    };
    let spec = match verified {
        Ok(spec) => spec,
        Err(e) => return formatted(e.into_response(&request_id), &params).await,
    };
    // Faults come after authentication (a bad request stays a bad request)
    // and before the nonce is spent, as a failing proxy would not spend it.
    if let Some((kind, delay_ms)) = app.faults.take(params.get("Action").unwrap_or("")) {
        if let Some(response) = apply_fault(kind, delay_ms, &request_id).await {
            return response;
        }
    }
    if !app.stateless {
        let key = format!(
            "{}\n{}",
            params.get("AccessKeyId").unwrap_or(""),
            params.get("SignatureNonce").unwrap_or("")
        );
        let fresh = app
            .nonces
            .lock()
            .map(|mut n| n.remember(key, real_now_ms()))
            .unwrap_or(true);
        if !fresh {
            let response = gateway_error(
                400,
                "SignatureNonceUsed",
                "Specified signature nonce was used already.",
            )
            .into_response(&request_id);
            return formatted(response, &params).await;
        }
    }
    if params.get("Version") == Some(crate::sts::STS_VERSION) {
        return crate::sts::handle_signed(&app, &params, &request_id);
    }
    let spec = match verify_action(spec, &params) {
        Ok(spec) => spec,
        Err(e) => return formatted(e.into_response(&request_id), &params).await,
    };
    if let Some(limits) = &app.flow_limits {
        if !limits.admit(spec.name, real_now_ms()) {
            let refused = business_response(
                &request_id,
                Err(BizError {
                    code: "isv.FLOW_LIMIT",
                    message: format!("业务流控: {} is limited to its QPS", spec.name),
                }),
            );
            return formatted(refused, &params).await;
        }
    }
    if app.stateless {
        return stateless_response(spec.name, &request_id);
    }
    let response = business_response(&request_id, dispatch(&app, spec.name, &params));
    formatted(response, &params).await
}

/// Runs an action against the model; a number bought or released is
/// reported (NumberManagementReport) once the model is unlocked.
fn dispatch(app: &Arc<App>, action: &str, params: &Params) -> ActionResult {
    if action == "QueryTokenForMnsQueue" {
        return crate::dybase::query_token(app, params);
    }
    let now = app.clock.now_ms();
    let Ok(mut model) = app.model.lock() else {
        return Err(BizError {
            code: "isp.SYSTEM_ERROR",
            message: "系统错误".into(),
        });
    };
    let number_change = crate::receipts::NumberChange::before(&model, action, params);
    let result = match action {
        "BindAxb" => model.bind_axb(params, now),
        "BindAxn" => model.bind_axn(params, now),
        "BindAxnExtension" => model.bind_axn_extension(params, now),
        "BuySecretNo" => model.buy_secret_no(params),
        "ReleaseSecretNo" => model.release_secret_no(params, now),
        "QueryRecordFileDownloadUrl" => model.record_download_url(params, &app.base_url, now),
        "QuerySubscriptionDetail" => model.query_detail(params, now),
        "UnbindSubscription" => model.unbind(params, now),
        "UpdateSubscription" => model.update(params, now),
        other => {
            let cx = crate::actions::Context {
                now_ms: now,
                base_url: &app.base_url,
            };
            crate::actions::dispatch(&mut model, other, params, &cx).unwrap_or_else(|| {
                Err(BizError {
                    code: "isp.SYSTEM_ERROR",
                    message: "系统错误".into(),
                })
            })
        }
    };
    drop(model);
    if let (Some(change), Ok(fields)) = (number_change, &result) {
        crate::receipts::number_changed(app, change, fields);
    }
    result
}

/// The reply in XML when the request asked for `Format=XML`.
async fn formatted(response: Response, params: &Params<'_>) -> Response {
    if params
        .get("Format")
        .is_some_and(|f| f.eq_ignore_ascii_case("XML"))
    {
        let action = params.get("Action").unwrap_or("");
        crate::xml_reply::to_xml(response, action).await
    } else {
        response
    }
}

/// Benchmark mode: a fixed success per action, built without the model.
fn stateless_response(action: &str, request_id: &str) -> Response {
    let extra = match action {
        "BindAxb" | "BindAxn" | "BindAxnExtension" => {
            r#","SecretBindDTO":{"SubsId":"1000000000001","SecretNo":"17000000000","Extension":""}"#
        }
        "BuySecretNo" => r#","SecretBuyInfoDTO":{"SecretNo":"17100000001"}"#,
        "UnbindSubscription" => r#","ChargeId":"10000000000010""#,
        "QueryRecordFileDownloadUrl" => {
            r#","DownloadUrl":"http://127.0.0.1/__emulator/recordings/none.mp3""#
        }
        "QuerySubscriptionDetail" => {
            r#","SecretBindDetailDTO":{"SubsId":"1000000000001","PhoneNoA":"18040580000","PhoneNoB":"13871140000","PhoneNoX":"17000000000","Extension":"","ExpireDate":"2030-01-01 00:00:00","GmtCreate":"2018-08-01 00:00:00","NeedRecord":false,"CallRestrict":"","Status":1,"GroupId":"","ASRStatus":false,"ASRModelId":""}"#
        }
        "QueryTokenForMnsQueue" => {
            r#","MessageTokenDTO":{"AccessKeyId":"STS.stateless","AccessKeySecret":"stateless","SecurityToken":"stateless","CreateTime":"2018-08-01 00:00:00","ExpireTime":"2030-01-01 00:00:00"}"#
        }
        _ => "",
    };
    let body = format!(r#"{{"RequestId":"{request_id}","Code":"OK","Message":"OK"{extra}}}"#);
    json_response(StatusCode::OK, body.into_bytes(), request_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_store_rejects_replays_and_forgets_old_ones() {
        let mut store = NonceStore::default();
        assert!(store.remember("k\nn1".into(), 0));
        assert!(!store.remember("k\nn1".into(), 1000));
        assert!(
            store.remember("other\nn1".into(), 1000),
            "nonces are per key"
        );
        assert!(
            store.remember("k\nn1".into(), NONCE_MEMORY_MS + 1),
            "purged after the window"
        );
        assert_eq!(store.seen.len(), store.order.len());
    }
}
