"""BindAxb through Aliyun's official Python SDK (alibabacloud-dyplsapi20170525),
in its default signature mode (ACS3-HMAC-SHA256) and in 'v2', against the
base URL given as the first argument. Prints one JSON line per mode.
Exits 3 when the SDK is not installed, so the caller can skip."""
import json
import sys

try:
    from alibabacloud_dyplsapi20170525.client import Client
    from alibabacloud_dyplsapi20170525 import models
    from alibabacloud_tea_openapi import models as open_api_models
except ImportError:
    sys.exit(3)

scheme, host = sys.argv[1].split('://', 1)
for index, algorithm in enumerate([None, 'v2']):
    config = open_api_models.Config(
        access_key_id='yourAccessKeyId',
        access_key_secret='yourAccessKeySecret',
        endpoint=host,
        protocol=scheme,
    )
    if algorithm:
        config.signature_algorithm = algorithm
    request = models.BindAxbRequest(
        pool_key='FC100000xxxxxx',
        phone_no_a='1804058%04d' % (9000 + index),
        phone_no_b='1387114%04d' % (9000 + index),
        expiration='2099-01-01 00:00:00',
    )
    try:
        body = Client(config).bind_axb(request).body
        print(json.dumps({'mode': algorithm or 'default', 'code': body.code}))
    except Exception as err:  # the SDK raises its own error types
        print(json.dumps({'mode': algorithm or 'default', 'error': str(err)[:500]}))
