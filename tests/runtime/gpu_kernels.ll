target triple = "nvptx64-nvidia-cuda"

declare i32 @llvm.nvvm.read.ptx.sreg.tid.x()
declare i32 @llvm.nvvm.read.ptx.sreg.ntid.x()
declare i32 @llvm.nvvm.read.ptx.sreg.ctaid.x()
declare i32 @llvm.nvvm.read.ptx.sreg.nctaid.x()
declare void @llvm.trap()

define internal i64 @gid() alwaysinline {
  %t = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()
  %n = call i32 @llvm.nvvm.read.ptx.sreg.ntid.x()
  %c = call i32 @llvm.nvvm.read.ptx.sreg.ctaid.x()
  %cm = mul i32 %c, %n
  %g = add i32 %cm, %t
  %g64 = zext i32 %g to i64
  ret i64 %g64
}

define internal i64 @gstride() alwaysinline {
  %n = call i32 @llvm.nvvm.read.ptx.sreg.ntid.x()
  %c = call i32 @llvm.nvvm.read.ptx.sreg.nctaid.x()
  %s = mul i32 %c, %n
  %s64 = zext i32 %s to i64
  ret i64 %s64
}

; tmp[i] = x[i] * c[0] for i < batch * 100
define ptx_kernel void @scale(ptr %x, ptr %tmp, ptr %c, i64 %batch) {
entry:
  %n = mul i64 %batch, 100
  %k = load float, ptr %c
  %i0 = call i64 @gid()
  %st = call i64 @gstride()
  br label %loop
loop:
  %i = phi i64 [ %i0, %entry ], [ %inext, %body ]
  %more = icmp slt i64 %i, %n
  br i1 %more, label %body, label %done
body:
  %px = getelementptr float, ptr %x, i64 %i
  %v = load float, ptr %px
  %r = fmul float %v, %k
  %pt = getelementptr float, ptr %tmp, i64 %i
  store float %r, ptr %pt
  %inext = add i64 %i, %st
  br label %loop
done:
  ret void
}

; y[b,k] = tmp[b,k] + bias[0]; sum[b] = sum_k y[b,k]; scratch[0] = 1
define ptx_kernel void @shift_sum(ptr %tmp, ptr %bias, ptr %y, ptr %sum, i64 %batch, ptr %scratch) {
entry:
  %b0 = load float, ptr %bias
  %i0 = call i64 @gid()
  %st = call i64 @gstride()
  %first = icmp eq i64 %i0, 0
  br i1 %first, label %mark, label %loop
mark:
  store float 1.0, ptr %scratch
  br label %loop
loop:
  %b = phi i64 [ %i0, %entry ], [ %i0, %mark ], [ %bnext, %rowdone ]
  %more = icmp slt i64 %b, %batch
  br i1 %more, label %row, label %done
row:
  %base = mul i64 %b, 100
  br label %inner
inner:
  %k = phi i64 [ 0, %row ], [ %knext, %inner ]
  %acc = phi float [ 0.0, %row ], [ %acc2, %inner ]
  %idx = add i64 %base, %k
  %pt = getelementptr float, ptr %tmp, i64 %idx
  %v = load float, ptr %pt
  %w = fadd float %v, %b0
  %py = getelementptr float, ptr %y, i64 %idx
  store float %w, ptr %py
  %acc2 = fadd float %acc, %w
  %knext = add i64 %k, 1
  %kmore = icmp slt i64 %knext, 100
  br i1 %kmore, label %inner, label %rowend
rowend:
  %ps = getelementptr float, ptr %sum, i64 %b
  store float %acc2, ptr %ps
  br label %rowdone
rowdone:
  %bnext = add i64 %b, %st
  br label %loop
done:
  ret void
}

; Has work 0 in the descriptor: launching it would trap.
define ptx_kernel void @never() {
  call void @llvm.trap()
  unreachable
}
