/* frontend/model.c — not written yet */
