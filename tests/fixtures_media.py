"""Media backends for tests: local disk under a temporary MEDIA_ROOT, or moto's S3 server over HTTP."""

import json
import uuid

import boto3
import pytest
from moto.server import ThreadedMotoServer

from prompts.media import storage as media_storage

S3_KEY_ID = "test-key-id"
S3_SECRET = "test-application-key"
S3_REGION = "us-west-004"


@pytest.fixture(scope="session")
def moto_server():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(autouse=True)
def local_media(tmp_path, settings):
    """Every test gets its own MEDIA_ROOT, so no test sees another's files."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def boto_client(endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=S3_REGION,
        aws_access_key_id=S3_KEY_ID,
        aws_secret_access_key=S3_SECRET,
    )


@pytest.fixture
def s3_media(moto_server, settings):
    """MEDIA_BACKEND=s3 against moto's S3 server, with the CORS rule and the public prefix the README documents."""
    bucket = f"promptfinder-{uuid.uuid4().hex[:12]}"
    client = boto_client(moto_server)
    client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": S3_REGION})
    client.put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={
            "CORSRules": [
                {
                    "AllowedOrigins": ["*"],
                    "AllowedMethods": ["PUT", "GET", "HEAD"],
                    "AllowedHeaders": ["content-type"],
                    "ExposeHeaders": ["ETag"],
                    "MaxAgeSeconds": 3600,
                }
            ]
        },
    )
    # The bucket is private except public/ (the README's setup: a CDN that can read that prefix only).
    client.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{bucket}/public/*",
                    }
                ],
            }
        ),
    )
    settings.MEDIA_BACKEND = "s3"
    settings.MEDIA_CDN_URL = f"{moto_server}/{bucket}"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "prompts.media.storage.B2Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": moto_server,
                "region_name": S3_REGION,
                "access_key": S3_KEY_ID,
                "secret_key": S3_SECRET,
                "default_acl": None,
                "querystring_auth": False,
                "file_overwrite": True,
            },
        },
    }
    assert media_storage.is_s3()
    return type("S3Media", (), {"bucket": bucket, "client": client, "endpoint": moto_server})
