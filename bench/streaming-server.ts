/**
 * The MCP function of the streaming benchmark (deployed through the construct by
 * streaming-app.ts): one tool, `ticks`, that sends `count` progress notifications `intervalMs`
 * apart, each stamped with the wall-clock time it was sent, so the client can tell how long each
 * took to arrive through the local API Gateway's response streaming.
 */
import { McpServer } from '@modelcontextprotocol/server';
import * as z from 'zod';
import { createMcpLambdaHandler } from '../lambda/runtime/handler';
import { wallClockMs } from './wall-clock';

export const handler = createMcpLambdaHandler(({ serverInfo, serverOptions }) => {
  const server = new McpServer(serverInfo, { ...serverOptions });
  server.registerTool(
    'ticks',
    {
      inputSchema: z.object({
        count: z.number().int().min(1).max(1000),
        intervalMs: z.number().int().min(1).max(10_000),
      }),
    },
    async ({ count, intervalMs }, ctx) => {
      const progressToken = ctx.mcpReq._meta?.progressToken;
      if (progressToken === undefined)
        return { isError: true, content: [{ type: 'text', text: 'ticks needs a progress token' }] };
      for (let i = 1; i <= count; i++) {
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
        await ctx.mcpReq.notify({
          method: 'notifications/progress',
          params: { progressToken, progress: i, total: count, message: String(wallClockMs()) },
        });
      }
      return { content: [{ type: 'text', text: `${count} ticks` }] };
    },
  );
  return server;
});
