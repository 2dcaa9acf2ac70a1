// Crashes right after start: exit status CRASH_CODE (default 3).
'use strict';
console.error(`crash ${process.pid}: exiting`);
setTimeout(() => process.exit(Number(process.env.CRASH_CODE || 3)), 20);
