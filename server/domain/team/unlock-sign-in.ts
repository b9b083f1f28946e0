import { z } from "zod";
import type { Db } from "../../db.ts";
import { AppError } from "../app-error.ts";
import { signInThrottle, type SignInThrottle } from "../auth/sign-in-throttle.ts";

export const ZUnlockSignInInput = z.object({ userId: z.string().min(1) });

/** A team admin lifts the failed-sign-in limits on a member's account (after an attack, say). */
export async function unlockSignIn(
  db: Db,
  teamId: string,
  userId: string,
  throttle: SignInThrottle = signInThrottle(),
) {
  const membership = await db.membership.findUnique({
    where: { teamId_userId: { teamId, userId } },
    select: { user: { select: { email: true } } },
  });
  if (!membership) throw new AppError("NOT_FOUND", "Member not found");
  return { userId, unlocked: throttle.unlock(membership.user.email) };
}
