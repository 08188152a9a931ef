import { sinkFailed, type RastError } from '@rast-backup/core';

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

/** The name of the error `connect` throws when neither the config nor the environment gives a region. */
export const REGION_MISSING = 'RegionMissing';

/** What went wrong, in the user's terms, with what to do about it. */
export function explain(error: unknown, bucket: string): string {
  const sdk = (error ?? {}) as SdkError;
  const name = sdk.Code ?? sdk.name ?? 'Error';
  const status = sdk.$metadata?.httpStatusCode;
  const detail = `${name}${status ? ` ${status}` : ''}${sdk.message && sdk.message !== name && sdk.message !== 'UnknownError' ? `: ${sdk.message}` : ''}`;
  if (
    [
      'InvalidAccessKeyId',
      'SignatureDoesNotMatch',
      'InvalidToken',
      'ExpiredToken',
      'InvalidClientTokenId',
      'CredentialsProviderError',
    ].includes(name)
  ) {
    return `the credentials were refused (${detail}): check [s3] access_key_id and secret_access_key, or the environment's AWS credentials`;
  }
  if (name === 'AccessDenied' || name === 'AllAccessDisabled' || status === 403) {
    return `access denied (${detail}): the credentials were refused or may not use bucket ${bucket}; check the keys and the bucket's policy`;
  }
  if (name === 'NoSuchBucket') return `bucket ${bucket} does not exist (${detail}): create it, or fix [s3] bucket`;
  if (name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed' || name === 'IllegalLocationConstraintException') {
    return `bucket ${bucket} is in another region (${detail}): fix [s3] region`;
  }
  if (name === REGION_MISSING) return 'no region: set [s3] region (or AWS_REGION)';
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'].includes(sdk.code ?? '')) {
    return `the endpoint is unreachable (${sdk.code}): check [s3] endpoint and the network`;
  }
  if (sdk.code === 'ECONNRESET' || sdk.code === 'EPIPE') {
    return `the connection was cut (${detail}): the endpoint or a proxy closed it; check [s3] endpoint and the network`;
  }
  if (name === 'TimeoutError' || sdk.code === 'ETIMEDOUT') {
    // The SDK marks only the per-request deadline with a code; a connect and an idle timeout differ in wording only.
    const setting = sdk.code === 'ETIMEDOUT' ? 'request_timeout_seconds' : 'connect_timeout_seconds or idle_timeout_seconds';
    return `no answer in time (${detail}): the endpoint is unreachable, does not answer, or is slow; check [s3] endpoint, or raise [s3] ${setting} if it is just slow`;
  }
  return detail;
}

/** One message that names the sink, the endpoint and the bucket, what was being done, and why it failed. */
export function sinkFailure(sinkName: string, location: string, bucket: string, action: string, error: unknown): RastError {
  return sinkFailed({ name: sinkName, location }, action, error, { reason: explain(error, bucket) });
}
