"use client";

import { createAuthClient } from "better-auth/react";

export const authClient = createAuthClient();

export const INVITE_HEADER = "x-scaleboard-invite";
