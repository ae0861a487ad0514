/**
 * A scripted, recording request handler for the S3 Control client: no network at all. Every
 * request is recorded (method, path, headers, body); the answer comes from `respond`.
 */
import { Readable } from 'node:stream'
import type { S3ControlClient } from '@aws-sdk/client-s3-control'
import { createControlClient } from '../../src/index.js'

export interface RecordedRequest {
  method: string
  hostname: string
  path: string
  headers: Record<string, string>
  body: string
}

export interface ScriptedAnswer {
  status?: number
  body: string
}

export class ScriptedControl {
  readonly requests: RecordedRequest[] = []
  constructor(public respond: (request: RecordedRequest) => ScriptedAnswer) {}

  readonly handler = {
    handle: async (req: { method: string; hostname: string; path: string; headers: Record<string, string>; body?: unknown }) => {
      const recorded: RecordedRequest = {
        method: req.method,
        hostname: req.hostname,
        path: req.path,
        headers: { ...req.headers },
        body: typeof req.body === 'string' ? req.body : req.body === undefined ? '' : String(req.body),
      }
      this.requests.push(recorded)
      const answer = this.respond(recorded)
      return {
        response: {
          statusCode: answer.status ?? 200,
          headers: { 'content-type': 'application/xml', 'x-amz-request-id': `req-${this.requests.length}` },
          body: Readable.from([Buffer.from(answer.body)]),
        },
      }
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs() {
      return {}
    },
  }

  client(): Promise<S3ControlClient> {
    return createControlClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      requestHandler: this.handler as never,
      maxAttempts: 1,
    })
  }
}

/** A DescribeJob answer. */
export function describeJobXml(
  jobId: string,
  status: string,
  total: number,
  succeeded: number,
  failed: number,
  failures: { code: string; reason: string }[] = [],
): string {
  const reasons = failures.map((f) => `<member><FailureCode>${f.code}</FailureCode><FailureReason>${f.reason}</FailureReason></member>`).join('')
  return `<?xml version="1.0" encoding="UTF-8"?><DescribeJobResult><Job><JobId>${jobId}</JobId><Status>${status}</Status><ProgressSummary><TotalNumberOfTasks>${total}</TotalNumberOfTasks><NumberOfTasksSucceeded>${succeeded}</NumberOfTasksSucceeded><NumberOfTasksFailed>${failed}</NumberOfTasksFailed><Timers><ElapsedTimeInActiveSeconds>${succeeded}</ElapsedTimeInActiveSeconds></Timers></ProgressSummary>${reasons ? `<FailureReasons>${reasons}</FailureReasons>` : ''}<Report><Enabled>true</Enabled><Bucket>arn:aws:s3:::job-reports</Bucket><Prefix>freeze</Prefix></Report></Job></DescribeJobResult>`
}
