import { TASK_RUN_FOR_MS, TASK_TTL_MS, taskTimes } from '../../../../lambda/runtime/tasks';

describe("a task's times", () => {
  it("give the worker the function's own timeout, plus the queue's 60 s and 5 s of clock margin", () => {
    // The construct writes mcpTimeout less one second: 300 s by default.
    expect(taskTimes({ FUNCTION_TIMEOUT_SECONDS: '299' })).toEqual({
      ttlMs: TASK_TTL_MS,
      pollIntervalMs: 1000,
      runForMs: 300_000 + 65_000,
    });
    expect(taskTimes({ FUNCTION_TIMEOUT_SECONDS: '899' }).runForMs).toBe(TASK_RUN_FOR_MS);
  });

  it("fall back to Lambda's longest invocation when the timeout is not given", () => {
    expect(taskTimes({}).runForMs).toBe(900_000 + 65_000);
  });

  it('refuse a timeout the function cannot have, naming the variable', () => {
    expect(() => taskTimes({ FUNCTION_TIMEOUT_SECONDS: 'five minutes' })).toThrow(/FUNCTION_TIMEOUT_SECONDS/);
    expect(() => taskTimes({ FUNCTION_TIMEOUT_SECONDS: '3600' })).toThrow(/FUNCTION_TIMEOUT_SECONDS/);
  });
});
