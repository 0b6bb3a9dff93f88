/* tools/driver.c — not written yet */
