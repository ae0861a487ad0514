import { defineConfig } from 'vitest/config'

// The SDK's notice that its 2027 releases need Node 22 would repeat in every worker.
const env = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }

/**
 * Two tiers. `unit`: pure functions, types and the TSDoc examples; no S3 server, no globalSetup,
 * seconds (`npm run test:unit`). `integration`: everything else, against the radosgw the
 * globalSetup starts (or the one S3_ENDPOINT names). `npm test` runs both.
 */
export default defineConfig({
  test: {
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/types/**/*.test.ts'],
          testTimeout: 120_000,
          env,
          typecheck: {
            enabled: true,
            only: false,
            include: ['test/types/**/*.test-d.ts'],
            tsconfig: './test/types/tsconfig.json',
          },
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: ['test/unit/**', 'test/types/**', '**/node_modules/**'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          env,
        },
      },
    ],
  },
})
