"""One life cycle of a dyplsapi family, run by the official Python SDK
(alibabacloud-dyplsapi20170525) against the emulator, unchanged.

usage: lifecycle.py <emulator url> <v2|acs3|sm3> <family>

Prints one JSON object: {"family", "steps": [{"action", "code", ...}]}.
An API error is recorded as a step (its Code) and the run goes on, so the
caller sees every refusal and not just the first.
"""
import json
import sys
import urllib.request
from urllib.parse import urlparse

from alibabacloud_dyplsapi20170525 import models
from alibabacloud_dyplsapi20170525.client import Client
from alibabacloud_tea_openapi import models as open_api_models

POOL = "FC100000xxxxxx"
LATER = "2018-08-05 12:00:00"


def client(url, mode):
    parsed = urlparse(url)
    config = open_api_models.Config(
        access_key_id="yourAccessKeyId",
        access_key_secret="yourAccessKeySecret",
        endpoint=parsed.netloc,
        protocol=parsed.scheme,
        read_timeout=5000,
        connect_timeout=5000,
    )
    if mode == "v2":
        config.signature_algorithm = "v2"
    elif mode == "sm3":
        config.signature_algorithm = "ACS3-HMAC-SM3"
    return Client(config)


def control(url, path, body):
    request = urllib.request.Request(
        f"{url}/__emulator/{path}",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as reply:
        return json.loads(reply.read())


class Run:
    def __init__(self, sdk):
        self.sdk = sdk
        self.steps = []

    def __call__(self, action, request):
        method = getattr(self.sdk, action)
        try:
            body = method(request).body.to_map()
            self.steps.append({"action": action, "code": body.get("Code"), "body": body})
            return body
        except Exception as error:  # the SDK's TeaException and transport errors
            code = getattr(error, "code", None) or type(error).__name__
            message = getattr(error, "message", None) or str(error)
            self.steps.append({"action": action, "code": code, "message": message})
            return {}


def axb(run, url):
    bound = run("bind_axb", models.BindAxbRequest(pool_key=POOL, phone_no_a="18040580000", phone_no_b="13871140000", expiration=LATER))
    dto = bound.get("SecretBindDTO", {})
    subs, x = dto.get("SubsId"), dto.get("SecretNo")
    run("update_subscription", models.UpdateSubscriptionRequest(pool_key=POOL, subs_id=subs, phone_no_x=x, operate_type="updateNoB", phone_no_b="13871140001"))
    run("query_subscription_detail", models.QuerySubscriptionDetailRequest(pool_key=POOL, subs_id=subs, phone_no_x=x))
    run("unbind_subscription", models.UnbindSubscriptionRequest(pool_key=POOL, subs_id=subs, secret_no=x))


def axn(run, url):
    bound = run("bind_axn", models.BindAxnRequest(pool_key=POOL, phone_no_a="18040580010", expiration=LATER))
    dto = bound.get("SecretBindDTO", {})
    subs, x = dto.get("SubsId"), dto.get("SecretNo")
    run("add_axn_track_no", models.AddAxnTrackNoRequest(pool_key=POOL, subs_id=subs, phone_no_x=x, track_no="YT-PY-1"))
    run("query_phone_no_aby_track_no", models.QueryPhoneNoAByTrackNoRequest(track_no="YT-PY-1"))
    run("query_subs_id", models.QuerySubsIdRequest(pool_key=POOL, phone_no_x=x))
    run("bind_axn_extension", models.BindAxnExtensionRequest(pool_key=POOL, phone_no_a="18040580011", expiration=LATER))
    run("unbind_subscription", models.UnbindSubscriptionRequest(pool_key=POOL, subs_id=subs, secret_no=x))


def axg(run, url):
    group = run("create_axg_group", models.CreateAxgGroupRequest(pool_key=POOL, name="riders", numbers="13900000001"))
    group_id = group.get("GroupId")
    run("operate_axg_group", models.OperateAxgGroupRequest(pool_key=POOL, group_id=group_id, operate_type="addNumbers", numbers="13900000002"))
    bound = run("bind_axg", models.BindAxgRequest(pool_key=POOL, group_id=str(group_id), phone_no_a="18040580020", expiration=LATER))
    dto = bound.get("SecretBindDTO", {})
    item = models.BindBatchAxgRequestAxgBindList(group_id=str(group_id), phone_no_a="18040580021", expiration=LATER)
    run("bind_batch_axg", models.BindBatchAxgRequest(pool_key=POOL, axg_bind_list=[item]))
    run("query_subscription_detail", models.QuerySubscriptionDetailRequest(pool_key=POOL, subs_id=dto.get("SubsId"), phone_no_x=dto.get("SecretNo")))
    run("unbind_subscription", models.UnbindSubscriptionRequest(pool_key=POOL, subs_id=dto.get("SubsId"), secret_no=dto.get("SecretNo")))
    spare = run("create_axg_group", models.CreateAxgGroupRequest(pool_key=POOL))
    run("delete_axg_group", models.DeleteAxgGroupRequest(pool_key=POOL, group_id=spare.get("GroupId")))


def numbers(run, url):
    run("query_secret_no_remain", models.QuerySecretNoRemainRequest(city="杭州", spec_id=1))
    bought = run("buy_secret_no", models.BuySecretNoRequest(pool_key=POOL, spec_id=1, city="杭州"))
    x = bought.get("SecretBuyInfoDTO", {}).get("SecretNo")
    run("lock_secret_no", models.LockSecretNoRequest(pool_key=POOL, secret_no=x))
    run("query_secret_no_detail", models.QuerySecretNoDetailRequest(pool_key=POOL, secret_no=x))
    run("unlock_secret_no", models.UnlockSecretNoRequest(pool_key=POOL, secret_no=x))
    run("release_secret_no", models.ReleaseSecretNoRequest(pool_key=POOL, secret_no=x))


def blacklist(run, url):
    bound = run("bind_axb", models.BindAxbRequest(pool_key=POOL, phone_no_a="18040580030", phone_no_b="13871140030", expiration=LATER))
    x = bound.get("SecretBindDTO", {}).get("SecretNo")
    run("add_secret_blacklist", models.AddSecretBlacklistRequest(pool_key=POOL, black_type="POINT_TO_POINT_BLACK", black_no="18040580030:13871140030"))
    refused = control(url, "calls", {"caller": "18040580030", "secretNo": x})
    run.steps.append({"action": "call", "code": "OK", "report": refused.get("report")})
    run("delete_secret_blacklist", models.DeleteSecretBlacklistRequest(pool_key=POOL, black_type="POINT_TO_POINT_BLACK", black_no="18040580030:13871140030"))
    run("operate_black_no", models.OperateBlackNoRequest(pool_key=POOL, black_no="18040580031", operate_type="AddBlack"))
    run("operate_black_no", models.OperateBlackNoRequest(pool_key=POOL, black_no="18040580031", operate_type="DeleteBlack"))


FAMILIES = {"axb": axb, "axn": axn, "axg": axg, "numbers": numbers, "blacklist": blacklist}


def main():
    url, mode, family = sys.argv[1:4]
    run = Run(client(url, mode))
    FAMILIES[family](run, url)
    print(json.dumps({"family": family, "steps": run.steps}, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
