"""HTML pages: parse the request, call a service or selector, render."""
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render

from prompts import selectors


def home(request):
    page = Paginator(selectors.published_prompts().prefetch_related("tags"), 24).get_page(request.GET.get("page"))
    return render(request, "prompts/home.html", {"page": page})


def signup(request):
    if request.user.is_authenticated:
        return redirect("home")
    form = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user)
        return redirect("home")
    return render(request, "registration/signup.html", {"form": form})


@login_required
def upload_page(request):
    return render(request, "prompts/upload.html", {})


def prompt_detail(request, slug):
    prompt = selectors.prompt_visible_to(slug=slug, user=request.user)
    if prompt is None:
        raise Http404("Prompt not found")
    return render(request, "prompts/prompt_detail.html", {"prompt": prompt, "tags": list(prompt.tags.all())})
